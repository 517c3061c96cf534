import type { Spread } from '../results/index.js';

/**
 * Median and range of repeated measurements (trials, rounds): the one summary of a
 * figure's spread every report uses. The median is rounded to 0.001; min and max are kept
 * as measured. An empty list is all zeros with n = 0 (never NaN).
 */
export function spread(values: number[]): Spread {
  if (values.length === 0) return { median: 0, min: 0, max: 0, n: 0 };
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median: Math.round(median * 1000) / 1000, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}
