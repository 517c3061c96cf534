/**
 * Just enough of the Prometheus text format to read our own histograms back:
 * `name{label="v",…} value` lines, comments skipped.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    const v = m[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[3]);
    out.push({ name: m[1]!, labels, value: v });
  }
  return out;
}

/** A histogram's cumulative buckets, count and sum, summed over the series that match. */
export interface HistogramSnapshot {
  buckets: Map<number, number>;
  count: number;
  sum: number;
}

export function histogramOf(
  samples: Sample[],
  name: string,
  match: (labels: Record<string, string>) => boolean,
): HistogramSnapshot {
  const snap: HistogramSnapshot = { buckets: new Map(), count: 0, sum: 0 };
  for (const s of samples) {
    if (!match(s.labels)) continue;
    if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      snap.buckets.set(le, (snap.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_count`) snap.count += s.value;
    else if (s.name === `${name}_sum`) snap.sum += s.value;
  }
  return snap;
}

export function subtract(after: HistogramSnapshot, before: HistogramSnapshot): HistogramSnapshot {
  const buckets = new Map<number, number>();
  for (const [le, v] of after.buckets) buckets.set(le, v - (before.buckets.get(le) ?? 0));
  return { buckets, count: after.count - before.count, sum: after.sum - before.sum };
}

export function addSnapshots(a: HistogramSnapshot, b: HistogramSnapshot): HistogramSnapshot {
  const buckets = new Map(a.buckets);
  for (const [le, v] of b.buckets) buckets.set(le, (buckets.get(le) ?? 0) + v);
  return { buckets, count: a.count + b.count, sum: a.sum + b.sum };
}

/** Quantile by linear interpolation inside the bucket, as PromQL's histogram_quantile does. */
export function quantile(h: HistogramSnapshot, q: number): number {
  if (h.count <= 0) return 0;
  const les = [...h.buckets.keys()].sort((a, b) => a - b);
  const rank = q * h.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const c = h.buckets.get(le)!;
    if (c >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      const inBucket = c - prevCount;
      return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}
