import { mulberry32 } from '@mlbench/model';
import { quantileSorted } from 'simple-statistics';

/**
 * The percentile bootstrap, seeded: the same input gives the same interval on every run of
 * `mlbench report` or `compare` (a CI gate must not flap on the random draw).
 */

export const BOOTSTRAP_REPLICATES = 2000;
export const CONFIDENCE_LEVEL = 0.95;

/** Uniform on [0, 1) from a seed: the model's own generator (mulberry32), one implementation. */
export const seededRandom: (seed: number) => () => number = mulberry32;

/** The central `level` interval of sorted replicates. */
export function percentileInterval(sorted: number[], level = CONFIDENCE_LEVEL): { lo: number; hi: number } {
  const tail = (1 - level) / 2;
  return { lo: quantileSorted(sorted, tail), hi: quantileSorted(sorted, 1 - tail) };
}

/** Median of a list (unsorted input); NaN for an empty one. */
export function medianOf(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}
