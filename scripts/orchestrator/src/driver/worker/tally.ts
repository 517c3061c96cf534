import { encodeHistogram, type Histogram, newHistogram } from '../../stats/histogram.js';
import type { DriverProgress, DriverRunResult, DriverRunSpec, TimelineBucket } from '../types.js';
import type { Outcome } from './senders.js';

interface Bucket {
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  h: Histogram;
  servedBy: Record<string, number>;
}

/**
 * Length of the blocks whose latency histograms a run keeps for confidence intervals: a block
 * bootstrap resamples them (stats/blocks.ts). Short enough that a 4-second quick trial gives
 * 16 blocks, long enough to hold the correlation between neighbouring requests (a GC pause or
 * a burst of another tenant lasts tens of ms here).
 */
export const BLOCK_MS = 250;

const increment = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/**
 * What one driver run counted: latency from the scheduled send time (and from the actual
 * send), schedule lag, errors by status or failure, dropped arrivals, per-second buckets
 * and extra windows. Times are ms since the run's start; histograms hold µs.
 */
export class RunTally {
  private readonly latency = newHistogram();
  private readonly serviceTime = newHistogram();
  private readonly lag = newHistogram();
  private readonly errorsByStatus: Record<string, number> = {};
  private readonly networkErrors: Record<string, number> = {};
  private readonly servedBy: Record<string, number> = {};
  private readonly buckets: Bucket[] = [];
  private readonly blocks: Histogram[] = [];
  private readonly windows: { name: string; fromMs: number; toMs: number; h: Histogram }[];
  private windowH = newHistogram();
  private lastProgress: number;
  private lastCompleted = 0;
  scheduled = 0;
  sent = 0;
  completed = 0;
  ok = 0;
  errors = 0;
  dropped = 0;
  inFlight = 0;
  lastCompletion = 0;

  constructor(
    private readonly spec: DriverRunSpec,
    private readonly start: number,
    private readonly scheduledMs: number,
    private readonly onProgress?: (p: DriverProgress) => void,
  ) {
    this.windows = (spec.windows ?? []).map((x) => ({ ...x, h: newHistogram() }));
    this.lastProgress = performance.now();
  }

  private bucket(ms: number): Bucket {
    const i = Math.max(0, Math.floor(ms / 1000));
    while (this.buckets.length <= i)
      this.buckets.push({ sent: 0, ok: 0, errors: 0, dropped: 0, h: newHistogram(), servedBy: {} });
    return this.buckets[i]!;
  }

  drop(scheduledAt: number): void {
    this.dropped++;
    this.bucket(scheduledAt).dropped++;
  }

  /** An arrival leaves now; returns what `finish` needs to close it. */
  begin(scheduledAt: number): { scheduledAt: number; sentAt: number } {
    const sentAt = performance.now();
    this.sent++;
    this.bucket(scheduledAt).sent++;
    this.inFlight++;
    this.lag.recordValue(Math.max(0, Math.round((sentAt - this.start - scheduledAt) * 1000)));
    return { scheduledAt, sentAt };
  }

  finish(a: { scheduledAt: number; sentAt: number }, o: Outcome): void {
    const now = performance.now();
    this.lastCompletion = now;
    const fromScheduled = Math.max(1, Math.round((now - this.start - a.scheduledAt) * 1000));
    const b = this.bucket(a.scheduledAt);
    this.latency.recordValue(fromScheduled);
    this.serviceTime.recordValue(Math.max(1, Math.round((now - a.sentAt) * 1000)));
    b.h.recordValue(fromScheduled);
    const k = Math.max(0, Math.floor(a.scheduledAt / BLOCK_MS));
    while (this.blocks.length <= k) this.blocks.push(newHistogram());
    this.blocks[k]!.recordValue(fromScheduled);
    for (const x of this.windows)
      if (a.scheduledAt >= x.fromMs && a.scheduledAt < x.toMs) x.h.recordValue(fromScheduled);
    this.windowH.recordValue(fromScheduled);
    this.completed++;
    this.inFlight--;
    if (o.status === '200') {
      this.ok++;
      b.ok++;
    } else {
      this.errors++;
      b.errors++;
      if (o.failure) increment(this.networkErrors, o.failure);
      else if (o.status) increment(this.errorsByStatus, o.status);
    }
    if (o.servedBy) {
      increment(this.servedBy, o.servedBy);
      increment(b.servedBy, o.servedBy);
    }
  }

  /** Report progress when a progress interval has passed since the last report. */
  maybeProgress(): void {
    const now = performance.now();
    if (!this.onProgress || now - this.lastProgress < (this.spec.progressEveryMs ?? 1000)) return;
    const windowS = (now - this.lastProgress) / 1000;
    this.onProgress({
      label: this.spec.label,
      elapsedMs: now - this.start,
      totalMs: this.scheduledMs,
      sent: this.sent,
      completed: this.completed,
      errors: this.errors,
      dropped: this.dropped,
      rate: (this.completed - this.lastCompleted) / windowS,
      p99Ms: this.windowH.totalCount ? this.windowH.getValueAtPercentile(99) / 1000 : 0,
    });
    this.windowH = newHistogram();
    this.lastProgress = now;
    this.lastCompleted = this.completed;
  }

  result(startedAtEpochMs: number, retries: number, withTimelineHistograms = false): DriverRunResult {
    const timeline: TimelineBucket[] = this.buckets.map((b, t) => ({
      t,
      sent: b.sent,
      ok: b.ok,
      errors: b.errors,
      dropped: b.dropped,
      p50Ms: b.h.totalCount ? b.h.getValueAtPercentile(50) / 1000 : 0,
      p99Ms: b.h.totalCount ? b.h.getValueAtPercentile(99) / 1000 : 0,
      maxMs: b.h.totalCount ? b.h.maxValue / 1000 : 0,
      servedBy: b.servedBy,
    }));
    return {
      label: this.spec.label,
      startedAtEpochMs,
      scheduledMs: this.scheduledMs,
      wallMs: Math.max(this.lastCompletion - this.start, 0),
      scheduled: this.scheduled,
      sent: this.sent,
      completed: this.completed,
      ok: this.ok,
      errorsByStatus: this.errorsByStatus,
      networkErrors: this.networkErrors,
      dropped: this.dropped,
      latency: encodeHistogram(this.latency),
      serviceTime: encodeHistogram(this.serviceTime),
      scheduleLag: encodeHistogram(this.lag),
      servedBy: this.servedBy,
      timeline,
      retries,
      windows: Object.fromEntries(this.windows.map((x) => [x.name, encodeHistogram(x.h)])),
      blockMs: BLOCK_MS,
      blockHistograms: this.blocks.map(encodeHistogram),
      ...(withTimelineHistograms ? { timelineHistograms: this.buckets.map((b) => encodeHistogram(b.h)) } : {}),
    };
  }
}
