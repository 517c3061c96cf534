import type { LatencySummaryMs, TimelineBucket } from '../results/index.js';
import type { ScheduleSpec } from './arrivals.js';
import type { PayloadSpec } from './payload.js';

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
  balancer?:
    | { kind: 'round-robin' }
    | {
        kind: 'client-lb';
        healthIntervalMs: number;
        perTryTimeoutMs: number;
        /** Active checks' path (default /readyz); null: none (a deployment without a health endpoint). */
        healthPath?: string | null;
      };
  /** Extra latency histograms for arrivals scheduled inside these windows (e.g. during a fault). */
  windows?: { name: string; fromMs: number; toMs: number }[];
  /**
   * One worker of several (--driver-workers): it sends arrivals index, index + of, … of the
   * one schedule, so the workers' sends interleave into exactly the schedule of one driver.
   */
  share?: { index: number; of: number };
  /** Wall-clock start shared by every worker of a run (each process has its own monotonic clock). */
  startAtEpochMs?: number;
}

/** One worker's own figures in a run several workers drove: what merging would hide. */
export interface DriverWorkerFigures {
  index: number;
  scheduled: number;
  sent: number;
  dropped: number;
  /** Its schedule lag p99, ms: the lateness of this worker alone. */
  lagP99Ms: number;
  cpuSeconds?: number;
}

export type { TimelineBucket } from '../results/index.js';

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
  /** k6: the CPU seconds it spent while sending load, without its ~1 s of start-up. */
  loadCpuSeconds?: number;
  /** Latency histograms of consecutive blocks of blockMs by scheduled time (confidence intervals). */
  blockMs?: number;
  blockHistograms?: string[];
  /** A worker's per-second latency histograms, so a pool merges its timeline losslessly. */
  timelineHistograms?: string[];
  /** With several workers: each one's figures. */
  workers?: DriverWorkerFigures[];
}

/** What measurement needs of a load generator: the built-in driver process, or k6. */
export interface LoadDriver {
  readonly pid: number | undefined;
  /** Several worker processes (--driver-workers): the driver's CPU and memory are theirs summed. */
  readonly pids?: number[];
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
