import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  /** The error to fail with once the time is up (it reads the last state the check saw). */
  onTimeout: () => Error;
}

/** What a check answers: done (with a value), or not yet. */
export type Poll<T> = { done: true; value: T } | { done: false };
export const done = <T>(value: T): Poll<T> => ({ done: true, value });
export const notYet: Poll<never> = { done: false };

/**
 * Call `check` until it says done, at most every `intervalMs`, for at most `timeoutMs` (it
 * is always called at least once). A check that throws fails the poll at once: a process
 * that died or a container that went unhealthy is an answer, not a reason to wait.
 */
export async function pollUntil<T>(check: () => Promise<Poll<T>>, o: PollOptions): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const r = await check();
    if (r.done) return r.value;
    if (Date.now() >= deadline) throw o.onTimeout();
    await sleep(Math.min(o.intervalMs, Math.max(0, deadline - Date.now())));
  }
}
