import { parseDuration } from './duration.js';

export type FaultKind = 'kill' | 'stop' | 'pause' | 'restart';

export interface FaultSpec {
  kind: FaultKind;
  /** When, from the start of the measured run. */
  atMs: number;
  /** pause: how long the replica is frozen; restart: how long it stays down. */
  durationMs: number;
  text: string;
}

const DEFAULT_DURATION: Record<FaultKind, number> = { kill: 0, stop: 0, pause: 5_000, restart: 2_000 };

/** `kill@10s`, `stop@10s`, `pause@10s:5s`, `restart@10s:2s`. */
export function parseFault(text: string): FaultSpec {
  const m = /^(kill|stop|pause|restart)@([^:]+)(?::(.+))?$/.exec(text.trim());
  if (!m)
    throw new Error(
      `--fault must be kill@T, stop@T, pause@T[:D] or restart@T[:D] (e.g. kill@10s, pause@10s:5s), got "${text}"`,
    );
  const kind = m[1] as FaultKind;
  const atMs = parseDuration(m[2]!);
  if (m[3] !== undefined && (kind === 'kill' || kind === 'stop')) throw new Error(`--fault ${kind} takes no duration`);
  const durationMs = m[3] !== undefined ? parseDuration(m[3]) : DEFAULT_DURATION[kind];
  return { kind, atMs, durationMs, text };
}

export interface FaultOutcome {
  kind: FaultKind;
  spec: string;
  target: string;
  /** Actual injection time, seconds from the start of the run. */
  injectedAtS: number;
  /** pause: when it was resumed; restart: when the new process was ready. */
  restoredAtS: number | null;
  /** Requests that failed (any error) or were dropped from the injection to the end. */
  requestsLost: number;
  /** Failed share of the requests scheduled in the 10 s after injection. */
  errorRate10s: number;
  /** From injection to the end of the last second with an error (0: no error at all). */
  timeToZeroErrorsS: number;
  /** restart: from restore until the restarted replica answers requests again. */
  restartedServesAfterS: number | null;
  /** p99 of requests scheduled from injection until 10 s after (or after the restore). */
  p99DuringFaultMs: number;
  errorsBySecond: number[];
  /** Retries made by the load generator's balancer (monolith) — the gateway counts its own. */
  clientRetries: number;
}
