import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ChildExitedError, type ManagedProcess } from './child.js';

/** Poll GET {url}{path} until 200; fail fast with the child's last log lines if it dies. */
export async function waitReady(proc: ManagedProcess, url: string, timeoutMs: number, path = '/readyz'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!proc.running) {
      const st = proc.exitStatus;
      throw new ChildExitedError(
        `${proc.name} exited during start-up (code ${st?.code}, signal ${st?.signal}); last output:\n${proc.logTail()}`,
      );
    }
    try {
      const res = await request(`${url}${path}`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
      await res.body.dump();
      if (res.statusCode === 200) return;
      last = `${path} answered ${res.statusCode}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`${proc.name} not ready after ${timeoutMs} ms (${last}); last output:\n${proc.logTail()}`);
}
