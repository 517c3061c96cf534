import type { Histogram } from 'hdr-histogram-js';

/** Draws one value (ms) from a distribution, given a uniform(0,1) source. */
export type Sampler = (u: () => number) => number;

export const deterministic =
  (v: number): Sampler =>
  () =>
    v;

export const exponential =
  (mean: number): Sampler =>
  (u) =>
    -mean * Math.log(1 - u());

/**
 * An empirical distribution as an inverse CDF on a grid of quantiles (ascending values at
 * probabilities 0, 1/n, …, 1), read by linear interpolation: the sampler the simulator
 * replays measured distributions with.
 */
export interface QuantileTable {
  values: number[];
  mean: number;
}

export function sampleTable(t: QuantileTable): Sampler {
  const n = t.values.length - 1;
  return (u) => {
    const x = u() * n;
    const i = Math.floor(x);
    if (i >= n) return t.values[n]!;
    return t.values[i]! + (t.values[i + 1]! - t.values[i]!) * (x - i);
  };
}

/** The table's mean (the mean of the piecewise-linear inverse CDF). */
function tableMean(values: number[]): number {
  let s = 0;
  for (let i = 1; i < values.length; i++) s += (values[i - 1]! + values[i]!) / 2;
  return s / (values.length - 1);
}

export function scaleTable(t: QuantileTable, factor: number): QuantileTable {
  return { values: t.values.map((v) => v * factor), mean: t.mean * factor };
}

const GRID = 2000;

/**
 * From a Prometheus histogram's cumulative buckets ([upper bound, count], ascending; count
 * total): uniform inside each bucket, as histogram_quantile reads one. Above the last finite
 * bound the value is that bound (the +Inf bucket has no width to spread over).
 */
export function tableFromBuckets(buckets: [number, number][], total: number): QuantileTable {
  if (!(total > 0)) throw new Error('a histogram with no observations has no distribution');
  const values: number[] = [];
  for (let k = 0; k <= GRID; k++) {
    const rank = (k / GRID) * total;
    let prevLe = 0;
    let prevCount = 0;
    let v = buckets.length ? buckets[buckets.length - 1]![0] : 0;
    for (const [le, c] of buckets) {
      if (c >= rank && c > prevCount) {
        v = prevLe + ((le - prevLe) * (rank - prevCount)) / (c - prevCount);
        break;
      }
      if (c >= rank) {
        v = prevLe;
        break;
      }
      prevLe = le;
      prevCount = c;
    }
    values.push(v);
  }
  return { values, mean: tableMean(values) };
}

/** From an HdrHistogram of µs (the driver's): its values at the grid's percentiles, in ms. */
export function tableFromHdr(h: Histogram): QuantileTable {
  if (h.totalCount === 0) throw new Error('an empty latency histogram has no distribution');
  const values: number[] = [h.minNonZeroValue / 1000];
  for (let k = 1; k < GRID; k++) values.push(h.getValueAtPercentile((100 * k) / GRID) / 1000);
  values.push(h.maxValue / 1000);
  for (let i = 1; i < values.length; i++) values[i] = Math.max(values[i]!, values[i - 1]!);
  return { values, mean: tableMean(values) };
}
