import { setTimeout as sleep } from 'node:timers/promises';
import { arrivals, type ScheduleSpec } from '../arrivals.js';

/**
 * Open loop: every arrival is offered at its scheduled time (ms since `start`) whatever
 * the server does; `offer` decides whether it is sent or dropped. `onTick` runs between
 * batches of arrivals (progress). Resolves when the schedule ends or `signal` aborts.
 */
export function runOpenLoop(
  schedule: ScheduleSpec,
  start: number,
  offer: (scheduledAt: number) => void,
  onTick: () => void,
  signal?: AbortSignal,
): Promise<void> {
  const it = arrivals(schedule);
  let next = it.next();
  return new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now() - start;
      while (!next.done && next.value <= now) {
        offer(next.value);
        next = it.next();
      }
      onTick();
      if (next.done || signal?.aborted) return resolve();
      const wait = next.value - (performance.now() - start);
      // Timers have 1 ms granularity and fire late: sleep on a timer until about 1 ms
      // before the next send, then spin with setImmediate so sends leave on time (the lag
      // histogram proves it). Above ~1k req/s the driver therefore spins continuously:
      // its CPU share says nothing about saturation; its schedule lag does.
      if (wait > 1.2) setTimeout(tick, wait - 1.1);
      else setImmediate(tick);
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
}

/**
 * Closed loop (constant VUs): each VU sends its next request when the previous one ends.
 * It exists only to show what open loop fixes (coordinated omission).
 */
export async function runClosedLoop(
  vus: number,
  start: number,
  durationMs: number,
  sendAt: (scheduledAt: number) => Promise<void>,
  onTick: () => void,
  signal?: AbortSignal,
): Promise<void> {
  const endAt = start + durationMs;
  const vu = async () => {
    while (performance.now() < endAt && !signal?.aborted) await sendAt(Math.max(0, performance.now() - start));
  };
  await sleep(Math.max(0, start - performance.now()));
  const ticker = setInterval(onTick, 100);
  try {
    await Promise.all(Array.from({ length: vus }, vu));
  } finally {
    clearInterval(ticker);
  }
}
