import { decodeHistogram } from './histogram.js';

/**
 * A trial's latency as blocks of consecutive arrivals (RunTally keeps one HdrHistogram per
 * 250 ms), decoded once into sparse counts over the union of the buckets any block used, so
 * that a bootstrap replicate merges a resample of blocks in a few hundred additions instead
 * of adding 20,000-bucket histograms.
 */
export interface BlockSet {
  /** Each bucket's value in µs, as HdrHistogram reports a percentile (highest equivalent value). */
  values: Float64Array;
  /** Per block: positions into `values` and their counts. */
  blocks: { at: Uint32Array; counts: Float64Array; total: number }[];
}

interface Indexed {
  countsArrayLength: number;
  getCountAtIndex(i: number): number;
  valueFromIndex(i: number): number;
  highestEquivalentValue(v: number): number;
}

export function decodeBlocks(encoded: string[]): BlockSet {
  const raw = encoded.map((e) => {
    const h = decodeHistogram(e) as unknown as Indexed;
    const pairs: [number, number][] = [];
    for (let i = 0; i < h.countsArrayLength; i++) {
      const c = h.getCountAtIndex(i);
      if (c > 0) pairs.push([h.highestEquivalentValue(h.valueFromIndex(i)), c]);
    }
    return pairs;
  });
  const values = [...new Set(raw.flatMap((p) => p.map(([v]) => v)))].sort((a, b) => a - b);
  const position = new Map(values.map((v, i) => [v, i]));
  return {
    values: Float64Array.from(values),
    blocks: raw.map((pairs) => ({
      at: Uint32Array.from(pairs.map(([v]) => position.get(v)!)),
      counts: Float64Array.from(pairs.map(([, c]) => c)),
      total: pairs.reduce((a, [, c]) => a + c, 0),
    })),
  };
}

/**
 * Percentiles (ms) of the blocks picked (indices, repeats allowed), merged, read as
 * HdrHistogram's getValueAtPercentile reads them: the first bucket whose running count
 * reaches ⌈p/100 · total⌉. Zero when the picked blocks are empty.
 */
export function blockPercentiles(set: BlockSet, picks: number[], percentiles: number[]): number[] {
  const counts = new Float64Array(set.values.length);
  let total = 0;
  for (const k of picks) {
    const b = set.blocks[k]!;
    for (let j = 0; j < b.at.length; j++) counts[b.at[j]!]! += b.counts[j]!;
    total += b.total;
  }
  if (total === 0) return percentiles.map(() => 0);
  const targets = percentiles.map((p) => {
    // HdrHistogram's own rounding: up, less one ulp so that fp error never skips a count.
    const fp = (Math.min(p, 100) / 100) * total;
    return Math.max(1, Math.ceil(fp - ulp(fp)));
  });
  const out = percentiles.map(() => 0);
  let running = 0;
  let next = 0;
  const order = targets.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 0; i < counts.length && next < order.length; i++) {
    running += counts[i]!;
    while (next < order.length && running >= order[next]![0]) {
      out[order[next]![1]] = set.values[i]! / 1000;
      next++;
    }
  }
  return out;
}

/** The distance from x to the next larger double (x > 0). */
function ulp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  return 2 ** (Math.floor(Math.log2(Math.abs(x))) - 52);
}
