import type { Interval, IntervalMethod, RunResult } from '../results/index.js';
import { type BlockSet, blockPercentiles, decodeBlocks } from './blocks.js';
import { BOOTSTRAP_REPLICATES, CONFIDENCE_LEVEL, medianOf, percentileInterval, seededRandom } from './bootstrap.js';

/**
 * Confidence intervals for a configuration's headline figures, each the median over its
 * valid trials. With 5 trials or more the trials are resampled (the median of 3 trials has
 * a percentile-bootstrap interval equal to their min–max, whose true coverage is 75 %).
 * With fewer, each trial's 250 ms latency blocks are resampled within the trial (a
 * stratified block bootstrap), the trial's figure recomputed from the merged blocks, and
 * the median over trials taken: the figure as the summary defines it, with the noise of
 * the requests it was made of. Neither sees what changes between whole runs (another
 * tenant, the page cache): `bench --repeat` measures that.
 */

export const MIN_TRIALS_TO_RESAMPLE = 5;
/** Fewer blocks than this in a trial and its resamples are too coarse for an interval. */
export const MIN_BLOCKS_PER_TRIAL = 4;

export const INTERVAL_FIGURES = ['p50Ms', 'p99Ms', 'p999Ms', 'achievedRps', 'cpuSecondsPer1k'] as const;
export type IntervalFigure = (typeof INTERVAL_FIGURES)[number];

const PERCENTILE: Partial<Record<IntervalFigure, number>> = { p50Ms: 50, p99Ms: 99, p999Ms: 99.9 };

/** A figure of one trial as results.json records it. */
export function trialFigure(r: RunResult, f: IntervalFigure): number {
  switch (f) {
    case 'p50Ms':
      return r.latencyMs.p50;
    case 'p99Ms':
      return r.latencyMs.p99;
    case 'p999Ms':
      return r.latencyMs.p999;
    case 'achievedRps':
      return r.achievedRps;
    case 'cpuSecondsPer1k':
      return r.resources.servers?.cpuSecondsPer1kRequests ?? 0;
  }
}

/** Bootstrap replicates of one figure (unsorted, i.i.d.: a difference pairs them in order). */
export interface Replicates {
  figure: IntervalFigure;
  /** The median over trials of the recorded values: what the replicates are centred on. */
  point: number;
  method: Exclude<IntervalMethod, 'search-bracket'>;
  units: number;
  values: Float64Array;
}

export const seedOf = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
};

/**
 * Replicates of every figure that can have them, from one configuration's valid trials.
 * Seeded by `seed` (the configuration's label): the same file gives the same intervals.
 */
export function replicatesOf(
  valid: RunResult[],
  seed: string,
  replicates = BOOTSTRAP_REPLICATES,
): Partial<Record<IntervalFigure, Replicates>> {
  const out: Partial<Record<IntervalFigure, Replicates>> = {};
  if (valid.length === 0) return out;
  const random = seededRandom(seedOf(seed));
  const recorded = (f: IntervalFigure) => valid.map((r) => trialFigure(r, f));
  if (valid.length >= MIN_TRIALS_TO_RESAMPLE) {
    for (const f of INTERVAL_FIGURES) {
      const v = recorded(f);
      const values = new Float64Array(replicates);
      const sample = new Array<number>(v.length);
      for (let i = 0; i < replicates; i++) {
        for (let j = 0; j < v.length; j++) sample[j] = v[Math.floor(random() * v.length)]!;
        values[i] = medianOf(sample);
      }
      out[f] = { figure: f, point: medianOf(v), method: 'bootstrap-trials', units: v.length, values };
    }
    return out;
  }
  const sets: BlockSet[] = [];
  for (const r of valid) {
    const blocks = r.latencyBlocks?.histograms;
    if (!blocks || blocks.length < MIN_BLOCKS_PER_TRIAL) return out;
    sets.push(decodeBlocks(blocks));
  }
  const figures = INTERVAL_FIGURES.filter((f) => f !== 'cpuSecondsPer1k');
  const ps = figures.map((f) => PERCENTILE[f] ?? 50);
  // Each trial's replicate is its recorded figure times resampled / whole: centred on what
  // results.json says (identical to the blocks' own figure for an untouched file), so an
  // edited or re-derived figure moves its interval with it.
  const all = sets.map((s) => {
    const picks = s.blocks.map((_, k) => k);
    return { ps: blockPercentiles(s, picks, ps), total: s.blocks.reduce((a, b) => a + b.total, 0) };
  });
  const rec = figures.map((f) => recorded(f));
  const vals = figures.map(() => new Float64Array(replicates));
  const perTrial = figures.map(() => new Array<number>(sets.length));
  const picks: number[] = [];
  for (let i = 0; i < replicates; i++) {
    sets.forEach((s, t) => {
      const n = s.blocks.length;
      picks.length = n;
      let total = 0;
      for (let j = 0; j < n; j++) {
        const k = Math.floor(random() * n);
        picks[j] = k;
        total += s.blocks[k]!.total;
      }
      const q = blockPercentiles(s, picks, ps);
      figures.forEach((f, fi) => {
        const whole = f === 'achievedRps' ? all[t]!.total : all[t]!.ps[fi]!;
        const resampled = f === 'achievedRps' ? total : q[fi]!;
        perTrial[fi]![t] = whole > 0 ? rec[fi]![t]! * (resampled / whole) : rec[fi]![t]!;
      });
    });
    figures.forEach((_, fi) => {
      vals[fi]![i] = medianOf(perTrial[fi]!);
    });
  }
  const units = sets.reduce((a, s) => a + s.blocks.length, 0);
  figures.forEach((f, fi) => {
    out[f] = { figure: f, point: medianOf(rec[fi]!), method: 'bootstrap-blocks', units, values: vals[fi]! };
  });
  return out;
}

const sig = (x: number) => Number(x.toPrecision(4));

export function intervalOf(r: Replicates, level = CONFIDENCE_LEVEL): Interval {
  const { lo, hi } = percentileInterval(
    [...r.values].sort((a, b) => a - b),
    level,
  );
  return { lo: sig(lo), hi: sig(hi), level, method: r.method, units: r.units };
}

/** The intervals the summary records, per figure. */
export function intervalsOf(valid: RunResult[], seed: string): Partial<Record<IntervalFigure, Interval>> {
  const reps = replicatesOf(valid, seed);
  const out: Partial<Record<IntervalFigure, Interval>> = {};
  for (const f of INTERVAL_FIGURES) if (reps[f]) out[f] = intervalOf(reps[f]!);
  return out;
}
