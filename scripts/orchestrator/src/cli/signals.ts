/**
 * Abort on the first SIGINT/SIGTERM; a second one stops at once. Child processes die with
 * us; containers do not, so `beforeExit` hands them to a detached cleaner first. The
 * handlers are removed by `dispose()` (an in-process caller, a test, outlives the command).
 */
export function abortOnSignals(beforeExit?: () => Promise<void>): AbortController & { dispose(): void } {
  const ac = new AbortController();
  const handler = async (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\nmlbench: second ${sig}, exiting now\n`);
      await beforeExit?.().catch(() => undefined);
      process.exit(130);
    }
    process.stderr.write(`\nmlbench: ${sig} received, stopping and saving what was measured…\n`);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return Object.assign(ac, {
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  });
}
