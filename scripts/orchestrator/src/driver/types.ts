import type { LatencySummaryMs, TimelineBucket } from '../results-schema.js';
import type { PayloadSpec } from './payload.js';
import type { ScheduleSpec } from './schedule.js';

export type DriverMode =
  | { kind: 'open'; schedule: ScheduleSpec; maxInFlight: number }
  | { kind: 'closed'; vus: number; durationMs: number };

export interface DriverRunSpec {
  label: string;
  targets: string[];
  payload: PayloadSpec;
  mode: DriverMode;
  connectionsPerTarget: number;
  timeoutMs: number;
  progressEveryMs?: number;
  /** Spreading over several targets: plain round robin, or the gateway's balancer run client-side. */
  balancer?: { kind: 'round-robin' } | { kind: 'client-lb'; healthIntervalMs: number; perTryTimeoutMs: number };
  /** Extra latency histograms for arrivals scheduled inside these windows (e.g. during a fault). */
  windows?: { name: string; fromMs: number; toMs: number }[];
}

export type { TimelineBucket } from '../results-schema.js';

export interface DriverRunResult {
  label: string;
  startedAtEpochMs: number;
  /** Scheduled length of the run. */
  scheduledMs: number;
  /** Wall time from the first scheduled send to the last completion. */
  wallMs: number;
  scheduled: number;
  sent: number;
  completed: number;
  ok: number;
  errorsByStatus: Record<string, number>;
  networkErrors: Record<string, number>;
  dropped: number;
  /** HdrHistogram (µs, compressed base64) from the scheduled send time: what a user waits. */
  latency: string;
  /** From the actual send time: what a closed-loop tool would report. */
  serviceTime: string;
  /** Actual minus scheduled send time: the driver's own lateness. */
  scheduleLag: string;
  servedBy: Record<string, number>;
  timeline: TimelineBucket[];
  /** Requests the client-side balancer retried on another target. */
  retries: number;
  windows: Record<string, string>;
  /** Drivers that report percentiles only (k6): these replace the (empty) histograms. */
  latencySummaryMs?: LatencySummaryMs;
  /**
   * A driver without a schedule-lag histogram (k6) says itself whether it fell behind, and
   * why; the built-in driver's lateness is read from its lag histogram instead.
   */
  late?: string;
  /** CPU seconds of the process that ran this load (k6: a new process per run). */
  cpuSeconds?: number;
}

/** What measurement needs of a load generator: the built-in driver process, or k6. */
export interface LoadDriver {
  readonly pid: number | undefined;
  run(spec: DriverRunSpec, onProgress?: (p: DriverProgress) => void): Promise<DriverRunResult>;
  close(): Promise<void>;
}

export interface DriverProgress {
  label: string;
  elapsedMs: number;
  totalMs: number;
  sent: number;
  completed: number;
  errors: number;
  dropped: number;
  /** Completions per second over the last progress window. */
  rate: number;
  /** p99 of the last window, ms. */
  p99Ms: number;
}
