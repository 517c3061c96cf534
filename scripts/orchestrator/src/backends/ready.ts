import { request } from 'undici';
import { done, notYet, pollUntil } from '../poll.js';
import { ChildExitedError, type ManagedProcess } from './child.js';

/** Poll GET {url}{path} until 200; fail fast with the child's last log lines if it dies. */
export async function waitReady(proc: ManagedProcess, url: string, timeoutMs: number, path = '/readyz'): Promise<void> {
  let last = 'no answer yet';
  await pollUntil(
    async () => {
      if (!proc.running) {
        const st = proc.exitStatus;
        throw new ChildExitedError(
          `${proc.name} exited during start-up (code ${st?.code}, signal ${st?.signal}); last output:\n${proc.logTail()}`,
        );
      }
      try {
        const res = await request(`${url}${path}`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
        await res.body.dump();
        if (res.statusCode === 200) return done(undefined);
        last = `${path} answered ${res.statusCode}`;
      } catch (err) {
        last = (err as Error).message;
      }
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
