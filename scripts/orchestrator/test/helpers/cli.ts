/** Run one mlbench command line in this process, with what it prints captured. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  // Imported when first used, so a test can look at the process before the CLI is loaded.
  const { main } = await import('../../src/cli/index.js');
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}
