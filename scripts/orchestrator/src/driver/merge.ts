import { decodeHistogram, encodeHistogram, mergeHistograms, summarizeMs } from '../stats/histogram.js';
import type { DriverRunResult, DriverRunSpec, DriverWorkerFigures, TimelineBucket } from './types.js';

/**
 * Several workers' shares of one run as the result of one driver. Counts add up, histograms
 * merge losslessly (HdrHistogram add, never an average of percentiles), per-second buckets
 * are rebuilt from the workers' bucket histograms, and each worker's own lag, drops and CPU
 * are kept beside the merged figures (a late worker must not hide in a punctual total).
 */

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
};

/** The spec of worker `index` of `of`: its share of the arrivals, the in-flight bound and connections. */
export function shareSpec(spec: DriverRunSpec, index: number, of: number, startAtEpochMs: number): DriverRunSpec {
  const part = (n: number) => Math.floor(n / of) + (index < n % of ? 1 : 0);
  const mode: DriverRunSpec['mode'] =
    spec.mode.kind === 'open'
      ? { ...spec.mode, maxInFlight: Math.max(1, Math.ceil(spec.mode.maxInFlight / of)) }
      : { ...spec.mode, vus: Math.max(index === 0 ? 1 : 0, part(spec.mode.vus)) };
  return {
    ...spec,
    label: spec.label,
    mode,
    connectionsPerTarget: Math.max(1, Math.ceil(spec.connectionsPerTarget / of)),
    share: { index, of },
    startAtEpochMs,
  };
}

function mergeTimeline(parts: DriverRunResult[]): TimelineBucket[] {
  const seconds = Math.max(0, ...parts.map((p) => p.timeline.length));
  const out: TimelineBucket[] = [];
  for (let t = 0; t < seconds; t++) {
    const own = parts.map((p) => p.timeline[t]).filter((b): b is TimelineBucket => b !== undefined);
    const h = mergeHistograms(parts.map((p) => p.timelineHistograms?.[t]).filter((x): x is string => !!x));
    out.push({
      t,
      sent: own.reduce((a, b) => a + b.sent, 0),
      ok: own.reduce((a, b) => a + b.ok, 0),
      errors: own.reduce((a, b) => a + b.errors, 0),
      dropped: own.reduce((a, b) => a + b.dropped, 0),
      p50Ms: h.totalCount ? h.getValueAtPercentile(50) / 1000 : 0,
      p99Ms: h.totalCount ? h.getValueAtPercentile(99) / 1000 : 0,
      maxMs: h.totalCount ? h.maxValue / 1000 : 0,
      servedBy: own.reduce((a, b) => add(a, b.servedBy), {} as Record<string, number>),
    });
  }
  return out;
}

/** Block histograms merged block by block (the workers' blocks cover the same scheduled times). */
function mergeBlocks(parts: DriverRunResult[]): Pick<DriverRunResult, 'blockMs' | 'blockHistograms'> {
  const blockMs = parts[0]?.blockMs;
  if (blockMs === undefined || parts.some((p) => p.blockMs !== blockMs || !p.blockHistograms)) return {};
  const n = Math.max(...parts.map((p) => p.blockHistograms!.length));
  const blockHistograms: string[] = [];
  for (let k = 0; k < n; k++)
    blockHistograms.push(
      encodeHistogram(mergeHistograms(parts.map((p) => p.blockHistograms![k]).filter((x): x is string => !!x))),
    );
  return { blockMs, blockHistograms };
}

export function mergeResults(parts: DriverRunResult[], cpuSeconds?: (number | undefined)[]): DriverRunResult {
  if (parts.length === 1) return parts[0]!;
  const first = parts[0]!;
  const sum = (f: (p: DriverRunResult) => number) => parts.reduce((a, p) => a + f(p), 0);
  const merged = (f: (p: DriverRunResult) => string | undefined) =>
    encodeHistogram(mergeHistograms(parts.map(f).filter((x): x is string => !!x)));
  const workers: DriverWorkerFigures[] = parts.map((p, index) => ({
    index,
    scheduled: p.scheduled,
    sent: p.sent,
    dropped: p.dropped,
    lagP99Ms: summarizeMs(decodeHistogram(p.scheduleLag)).p99,
    ...(cpuSeconds?.[index] !== undefined ? { cpuSeconds: cpuSeconds[index] } : {}),
  }));
  const windows: Record<string, string> = {};
  for (const name of Object.keys(first.windows)) windows[name] = merged((p) => p.windows[name]);
  return {
    label: first.label,
    startedAtEpochMs: Math.min(...parts.map((p) => p.startedAtEpochMs)),
    scheduledMs: first.scheduledMs,
    wallMs: Math.max(...parts.map((p) => p.wallMs)),
    scheduled: sum((p) => p.scheduled),
    sent: sum((p) => p.sent),
    completed: sum((p) => p.completed),
    ok: sum((p) => p.ok),
    errorsByStatus: parts.reduce((a, p) => add(a, p.errorsByStatus), {} as Record<string, number>),
    networkErrors: parts.reduce((a, p) => add(a, p.networkErrors), {} as Record<string, number>),
    dropped: sum((p) => p.dropped),
    latency: merged((p) => p.latency),
    serviceTime: merged((p) => p.serviceTime),
    scheduleLag: merged((p) => p.scheduleLag),
    servedBy: parts.reduce((a, p) => add(a, p.servedBy), {} as Record<string, number>),
    timeline: mergeTimeline(parts),
    ...mergeBlocks(parts),
    retries: sum((p) => p.retries),
    windows,
    workers,
  };
}
