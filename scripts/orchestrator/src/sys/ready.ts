import { request } from 'undici';
import { ChildExitedError, type ManagedProcess } from './child.js';
import { done, notYet, pollUntil } from './poll.js';

/**
 * Poll `probe` (undefined: ready; otherwise why not yet) until ready; fail fast with the
 * child's last log lines if it dies, and name the last reason on a timeout.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  timeoutMs: number,
  probe: () => Promise<string | undefined>,
): Promise<void> {
  let last = 'no answer yet';
  await pollUntil(
    async () => {
      if (!proc.running) {
        const st = proc.exitStatus;
        throw new ChildExitedError(
          `${proc.name} exited during start-up (code ${st?.code}, signal ${st?.signal}); last output:\n${proc.logTail()}`,
        );
      }
      const why = await probe();
      if (why === undefined) return done(undefined);
      last = why;
      return notYet;
    },
    {
      timeoutMs,
      intervalMs: 50,
      onTimeout: () =>
        new Error(`${proc.name} not ready after ${timeoutMs} ms (${last}); last output:\n${proc.logTail()}`),
    },
  );
}

/** Why GET {url}{path} is not (yet) an answer `ok` accepts; undefined when it is. */
export async function httpNotReady(
  url: string,
  path: string,
  ok: (status: number) => boolean = (s) => s === 200,
): Promise<string | undefined> {
  try {
    const res = await request(`${url}${path}`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
    await res.body.dump();
    return ok(res.statusCode) ? undefined : `${path} answered ${res.statusCode}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Poll GET {url}{path} until 200; fail fast with the child's last log lines if it dies. */
export async function waitReady(proc: ManagedProcess, url: string, timeoutMs: number, path = '/readyz'): Promise<void> {
  await waitUntilReady(proc, timeoutMs, () => httpNotReady(url, path));
}
