import { makeBodies } from '../payload.js';
import type { DriverProgress, DriverRunResult, DriverRunSpec } from '../types.js';
import { closePools, poolFor } from './http.js';
import { runClosedLoop, runOpenLoop } from './pacer.js';
import { senderFor } from './senders.js';
import { RunTally } from './tally.js';

export { closePools };

/**
 * Drive load at the targets. Open loop: every arrival is sent at its scheduled time
 * whatever the server does, latency counts from that scheduled time, and an arrival
 * that finds maxInFlight requests outstanding is dropped (counted, never skipped
 * silently). Closed loop (constant-vus) exists only to show what open loop fixes.
 */
export async function runDriver(
  spec: DriverRunSpec,
  onProgress?: (p: DriverProgress) => void,
  signal?: AbortSignal,
): Promise<DriverRunResult> {
  const { path, bodies } = makeBodies(spec.payload);
  const sender = senderFor(spec, path, (origin) => poolFor(origin, spec.connectionsPerTarget));
  const scheduledMs = spec.mode.kind === 'open' ? spec.mode.schedule.durationMs : spec.mode.durationMs;
  // Several workers start together on the wall clock; one alone starts 5 ms from now.
  const aheadMs = spec.startAtEpochMs !== undefined ? Math.max(0, spec.startAtEpochMs - Date.now()) : 5;
  const start = performance.now() + aheadMs;
  const startedAtEpochMs = Date.now() + aheadMs;
  const stats = new RunTally(spec, start, scheduledMs, onProgress);
  let drained: (() => void) | undefined;

  const sendAt = (scheduledAt: number): Promise<void> => {
    const body = bodies[stats.sent % bodies.length]!;
    const arrival = stats.begin(scheduledAt);
    return sender.send(body).then((outcome) => {
      stats.finish(arrival, outcome);
      if (stats.inFlight === 0 && drained) drained();
    });
  };
  const progress = () => stats.maybeProgress();

  try {
    if (spec.mode.kind === 'open') {
      const { maxInFlight } = spec.mode;
      const take = (scheduledAt: number) => {
        stats.scheduled++;
        if (stats.inFlight >= maxInFlight) stats.drop(scheduledAt);
        else void sendAt(scheduledAt);
      };
      // A worker of several takes every `of`-th arrival of the one schedule, starting at its index.
      let arrival = 0;
      const share = spec.share;
      const offer = share
        ? (scheduledAt: number) => {
            if (arrival++ % share.of === share.index) take(scheduledAt);
          }
        : take;
      await runOpenLoop(spec.mode.schedule, start, offer, progress, signal);
    } else {
      const counted = (at: number) => {
        stats.scheduled++;
        return sendAt(at);
      };
      await runClosedLoop(spec.mode.vus, start, spec.mode.durationMs, counted, progress, signal);
    }
    if (stats.inFlight > 0) {
      const progressTimer = setInterval(progress, 100);
      await new Promise<void>((resolve) => {
        drained = resolve;
      });
      clearInterval(progressTimer);
    }
  } finally {
    await sender.close();
  }
  return stats.result(startedAtEpochMs, sender.retries, spec.share !== undefined);
}
