import type { Spread, SummaryRow } from '../results/index.js';
import { fmt } from './format.js';

/** How the report writes a figure with its spread and confidence interval, and says what the interval is. */

const ciText = (s: Spread, d: number, scale = 1) =>
  s.ci && s.ci.hi !== null ? ` (CI ${fmt(s.ci.lo * scale, d)}–${fmt(s.ci.hi * scale, d)})` : '';
export const spreadText = (s: Spread, d = 2, scale = 1) =>
  s.n === 0
    ? '–'
    : s.n === 1
      ? `${fmt(s.median * scale, d)}${ciText(s, d, scale)}`
      : `${fmt(s.median * scale, d)} [${fmt(s.min * scale, d)}–${fmt(s.max * scale, d)}]${ciText(s, d, scale)}`;

/** Two figures' intervals overlap (or one has none): a difference between them is within noise. */
export function withinNoise(x: Spread, y: Spread): boolean {
  if (!x.ci || !y.ci || x.ci.hi === null || y.ci.hi === null) return false;
  return x.ci.lo <= y.ci.hi && y.ci.lo <= x.ci.hi;
}

/** The interval method in words, for the note under the headline. */
export function intervalNote(rows: SummaryRow[]): string {
  const methods = new Set(rows.flatMap((r) => [r.p50Ms.ci?.method, r.p99Ms.ci?.method]).filter(Boolean));
  const level = rows.find((r) => r.p99Ms.ci)?.p99Ms.ci?.level ?? 0.95;
  const parts: string[] = [];
  if (methods.has('bootstrap-trials')) parts.push('a percentile bootstrap over the trials (5 or more)');
  if (methods.has('bootstrap-blocks'))
    parts.push(
      'a stratified block bootstrap: each trial’s 250 ms latency blocks resampled within the trial, the trial’s figure recomputed, the median over trials taken (fewer than 5 trials)',
    );
  if (parts.length === 0)
    return 'No confidence intervals: these runs have neither 5 trials nor latency blocks (k6, or files written before them).';
  return `CI: the ${Math.round((level ?? 0.95) * 100)} % confidence interval of each figure, from ${parts.join('; ')}. It holds the noise of the requests measured, not what moves between whole runs (use --repeat for that); CPU per 1k has one only with 5 trials or more. Two figures whose intervals overlap differ within noise.`;
}
