import type { CapacityResult, Interval, ResultsFile, RunResult, SummaryRow } from '../results/index.js';
import { configLabel, sameConfig as sameConfigOf } from '../results/labels.js';
import {
  BOOTSTRAP_REPLICATES,
  CONFIDENCE_LEVEL,
  medianOf,
  percentileInterval,
  seededRandom,
} from '../stats/bootstrap.js';
import { type IntervalFigure, type Replicates, replicatesOf, seedOf } from '../stats/intervals.js';
import { round as roundTo } from '../stats/round.js';
import { capacityBracket } from '../stats/summary.js';
import { type Differences, differences } from './compatible.js';
import { METRIC_DEFS, METRICS, type Metric } from './metrics.js';
import type { Side } from './sides.js';

/**
 * `mlbench compare A B`: per configuration and figure, A's and B's values, the change in %
 * with a confidence interval, and a verdict from a stated test:
 * - latency percentiles, achieved rate, CPU per 1k: a bootstrap of the ratio B/A, A and B
 *   resampled independently. Within a run: its trials, or its latency blocks within trials
 *   (stats/intervals.ts). A side of several runs (a --repeat set) is resampled in two
 *   stages: runs, then each picked run's own replicate, so run-to-run drift is in the
 *   interval. The change is significant when its interval excludes 0, and counts as a
 *   regression or an improvement only when it is also at least minChangePct.
 * - capacity, one run a side: the two search brackets [highest pass, lowest fail) do not
 *   overlap; several runs a side: a bootstrap over runs of the median capacity.
 * - RSS (one peak per run): a change beyond ±rssRulePct.
 */

export type Verdict = 'improved' | 'regressed' | 'no significant change' | 'not tested';

export interface ComparisonRow {
  config: string;
  targetRps: number;
  metric: Metric;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  /** The side's figure: the run's, or the median over its runs. */
  a: number;
  b: number;
  /** (b / a − 1) · 100; null when a is 0. */
  changePct: number | null;
  /** The change's confidence interval in % (bootstrap tests only). */
  changeCi: { lo: number; hi: number } | null;
  test: string;
  verdict: Verdict;
  why: string;
}

export interface CompareOptions {
  metrics?: Metric[];
  level?: number;
  minChangePct?: number;
  rssRulePct?: number;
  force?: boolean;
}

export interface SideInfo {
  name: string;
  runIds: string[];
  dirs: string[];
}

export interface Comparison {
  a: SideInfo;
  b: SideInfo;
  level: number;
  minChangePct: number;
  differences: Differences;
  forced: boolean;
  rows: ComparisonRow[];
  onlyInA: string[];
  onlyInB: string[];
  regressed: number;
  improved: number;
  caveats: string[];
}

/** Thrown for runs that are not comparable without --force: the CLI exits 2 with its one line. */
export class IncomparableError extends Error {}

/** A side's runs must also match each other: a repeat set from two machines is no set. */
const MIN_RUNS_FOR_RUN_LEVEL_ONLY = 3;

const rowKey = (r: SummaryRow) => `${configLabel(r)} @ ${r.targetRps} req/s`;
const round = (x: number, d = 2) => roundTo(x, d);
const sameConfig =
  (row: SummaryRow) => (r: { topology: string; replicas: number; gateways?: number; implementation?: string }) =>
    sameConfigOf(r, row);

function trials(res: ResultsFile, row: SummaryRow): RunResult[] {
  const same = sameConfig(row);
  return res.runs.filter((r) => r.phase === 'trial' && r.valid && r.targetRps === row.targetRps && same(r));
}

/** One configuration on one side: its row in each run, and each run's replicates. */
interface SideRow {
  perRun: { res: ResultsFile; row: SummaryRow; reps: Partial<Record<IntervalFigure, Replicates>> }[];
}

function sideRows(side: Side, tag: string): Map<string, SideRow> {
  const out = new Map<string, SideRow>();
  side.runs.forEach((res, i) => {
    for (const row of res.summary) {
      const k = rowKey(row);
      if (!out.has(k)) out.set(k, { perRun: [] });
      out.get(k)!.perRun.push({ res, row, reps: replicatesOf(trials(res, row), `${k}|${tag}|${i}`) });
    }
  });
  return out;
}

/** The side's replicates of a figure: one run's own, or runs then within-run (two stages). */
function sideReplicates(
  s: SideRow,
  metric: Metric,
  figure: IntervalFigure,
  seed: string,
): { values: Float64Array; test: string } | undefined {
  const def = METRIC_DEFS[metric];
  const runs = s.perRun
    .map((p) => ({ value: def.value(p.row), reps: p.reps[figure] }))
    .filter((p): p is { value: number; reps: Replicates | undefined } => p.value !== null);
  if (runs.length === 0) return undefined;
  const n = BOOTSTRAP_REPLICATES;
  // Each replicate centred on the figure the summary records (see intervals.ts).
  const scaled = (p: (typeof runs)[number], i: number) =>
    p.reps && p.reps.point > 0 ? p.reps.values[i % p.reps.values.length]! * (p.value / p.reps.point) : p.value;
  if (runs.length === 1) {
    const only = runs[0]!;
    if (!only.reps) return undefined;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = scaled(only, i);
    return {
      values,
      test:
        only.reps.method === 'bootstrap-trials'
          ? `${only.reps.units} trials`
          : `${only.reps.units} blocks within trials`,
    };
  }
  const withinKnown = runs.every((p) => p.reps);
  if (!withinKnown && runs.length < MIN_RUNS_FOR_RUN_LEVEL_ONLY) return undefined;
  const random = seededRandom(seedOf(seed));
  const values = new Float64Array(n);
  const picked = new Array<number>(runs.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < runs.length; j++) {
      const p = runs[Math.floor(random() * runs.length)]!;
      picked[j] = p.reps ? scaled(p, Math.floor(random() * p.reps.values.length)) : p.value;
    }
    values[i] = medianOf(picked);
  }
  return { values, test: `${runs.length} runs${withinKnown ? ', then each run’s blocks or trials' : ''}` };
}

function ratioInterval(a: Float64Array, b: Float64Array, level: number): { lo: number; hi: number } | undefined {
  const n = Math.min(a.length, b.length);
  const d: number[] = [];
  for (let i = 0; i < n; i++) if (a[i]! > 0) d.push((b[i]! / a[i]! - 1) * 100);
  if (d.length < n / 2) return undefined;
  d.sort((x, y) => x - y);
  const ci = percentileInterval(d, level);
  return { lo: round(ci.lo), hi: round(ci.hi) };
}

type Base = Omit<ComparisonRow, 'changeCi' | 'test' | 'verdict' | 'why'>;

function judged(base: Base, changeCi: { lo: number; hi: number }, test: string, minChangePct: number): ComparisonRow {
  const significant = changeCi.lo > 0 || changeCi.hi < 0;
  if (!significant)
    return { ...base, changeCi, test, verdict: 'no significant change', why: 'the interval includes 0: within noise' };
  if (base.changePct === null || Math.abs(base.changePct) < minChangePct)
    return {
      ...base,
      changeCi,
      test,
      verdict: 'no significant change',
      why: `significant but smaller than ${minChangePct} %`,
    };
  const worse = base.changePct > 0 === (base.better === 'lower');
  return { ...base, changeCi, test, verdict: worse ? 'regressed' : 'improved', why: 'the interval excludes 0' };
}

function capacityOf(res: ResultsFile, row: SummaryRow): CapacityResult | undefined {
  return res.capacity.find(sameConfig(row));
}

/** The median capacity over runs, resampled; bounds (≥) count at their floor. */
function capacityReplicates(s: SideRow, seed: string): Float64Array {
  const v = s.perRun.map((p) => p.row.capacityRps).filter((x): x is number => x !== null);
  const random = seededRandom(seedOf(seed));
  const out = new Float64Array(BOOTSTRAP_REPLICATES);
  const pick = new Array<number>(v.length);
  for (let i = 0; i < out.length; i++) {
    for (let j = 0; j < v.length; j++) pick[j] = v[Math.floor(random() * v.length)]!;
    out[i] = medianOf(pick);
  }
  return out;
}

function checkCompatible(a: Side, b: Side, force: boolean): Differences {
  const blocking: string[] = [];
  const notes = new Set<string>();
  const base = a.runs[0]!;
  for (const [side, runs] of [
    ['A', a.runs.slice(1)],
    ['B', b.runs],
  ] as const)
    for (const r of runs) {
      const d = differences(base, r);
      const where = side === 'A' ? `within A (${r.runId})` : '';
      for (const x of d.blocking) blocking.push(where ? `${where} ${x}` : x);
      for (const x of d.notes) if (side === 'B') notes.add(x);
    }
  const uniq = [...new Set(blocking)];
  if (uniq.length && !force)
    throw new IncomparableError(
      `refusing to compare: ${uniq.join('; ')} (--force compares anyway and prints what differs)`,
    );
  return { blocking: uniq, notes: [...notes] };
}

const info = (s: Side): SideInfo => ({ name: s.name, runIds: s.runs.map((r) => r.runId), dirs: s.dirs });

export function compareSides(a: Side, b: Side, options: CompareOptions = {}): Comparison {
  const level = options.level ?? CONFIDENCE_LEVEL;
  const minChangePct = options.minChangePct ?? 5;
  const rssRulePct = options.rssRulePct ?? 10;
  const diff = checkCompatible(a, b, options.force === true);
  const metrics = options.metrics ?? [...METRICS];
  const rowsA = sideRows(a, 'A');
  const rowsB = sideRows(b, 'B');
  const rows: ComparisonRow[] = [];
  for (const [key, sa] of rowsA) {
    const sb = rowsB.get(key);
    if (!sb) continue;
    const first = sa.perRun[0]!.row;
    for (const m of metrics) {
      const def = METRIC_DEFS[m];
      const side = (s: SideRow) => {
        const v = s.perRun.map((p) => def.value(p.row)).filter((x): x is number => x !== null);
        return v.length ? medianOf(v) : null;
      };
      const va = side(sa);
      const vb = side(sb);
      if (va === null || vb === null) continue;
      const base: Base = {
        config: configLabel(first),
        targetRps: first.targetRps,
        metric: m,
        label: def.label,
        unit: def.unit,
        better: def.better,
        a: va,
        b: vb,
        changePct: va !== 0 ? round((vb / va - 1) * 100) : null,
      };
      if (def.figure) {
        const x = sideReplicates(sa, m, def.figure, `${key}|${m}|A`);
        const y = sideReplicates(sb, m, def.figure, `${key}|${m}|B`);
        const ci = x && y ? ratioInterval(x.values, y.values, level) : undefined;
        if (x && y && ci)
          rows.push(
            judged(
              base,
              ci,
              `bootstrap of B/A (A: ${x.test}; B: ${y.test}), ${Math.round(level * 100)} % interval excludes 0 and |change| ≥ ${minChangePct} %`,
              minChangePct,
            ),
          );
        else
          rows.push({
            ...base,
            changeCi: null,
            test: 'none',
            verdict: 'not tested',
            why:
              def.figure === 'cpuSecondsPer1k'
                ? `no interval: CPU is measured per trial; needs 5 trials, or ${MIN_RUNS_FOR_RUN_LEVEL_ONLY} runs a side (--repeat)`
                : 'no interval: fewer than 5 trials and no latency blocks (k6, or an older file)',
          });
      } else if (m === 'capacity') {
        if (sa.perRun.length === 1 && sb.perRun.length === 1) {
          const ca = capacityOf(sa.perRun[0]!.res, first);
          const cb = capacityOf(sb.perRun[0]!.res, sb.perRun[0]!.row);
          if (!ca || !cb) continue;
          const ba: Interval = sa.perRun[0]!.row.capacityInterval ?? capacityBracket(ca);
          const bb: Interval = sb.perRun[0]!.row.capacityInterval ?? capacityBracket(cb);
          const br = (x: Interval) => `[${x.lo}, ${x.hi ?? '∞'})`;
          // One probe's verdict near the limit is itself noisy: two quick runs of the same
          // code here gave [4000, 6000) and [3500, 4000). A bracket must clear the other by
          // the search's resolution (its tolerance) and --min-change before it counts.
          // The search's own resolution, as the file records it (0.1 where a file has none).
          const tolerance = a.runs[0]!.config.capacitySearch?.tolerance ?? 0.1;
          const margin = Math.max(tolerance, minChangePct / 100);
          const below = (x: Interval, y: Interval) => x.hi !== null && x.hi <= y.lo * (1 - margin);
          const verdict: Verdict = below(bb, ba) ? 'regressed' : below(ba, bb) ? 'improved' : 'no significant change';
          rows.push({
            ...base,
            changeCi: null,
            test: `capacity search brackets [highest pass, lowest fail) apart by more than ${Math.round(margin * 100)} % (the search's resolution, or --min-change)`,
            verdict,
            why: `brackets ${br(ba)} and ${br(bb)} ${verdict === 'no significant change' ? `overlap or are within ${Math.round(margin * 100)} %` : 'are apart'}`,
          });
        } else {
          const ci = ratioInterval(
            capacityReplicates(sa, `${key}|cap|A`),
            capacityReplicates(sb, `${key}|cap|B`),
            level,
          );
          if (!ci) continue;
          rows.push(
            judged(
              base,
              ci,
              `bootstrap over runs of the median capacity (A: ${sa.perRun.length}, B: ${sb.perRun.length} runs; bounds at their floor), ${Math.round(level * 100)} % interval excludes 0 and |change| ≥ ${minChangePct} %`,
              minChangePct,
            ),
          );
        }
      } else {
        const pct = base.changePct;
        const beyond = pct !== null && Math.abs(pct) > rssRulePct;
        const worse = pct !== null && (def.better === 'lower' ? pct > 0 : pct < 0);
        rows.push({
          ...base,
          changeCi: null,
          test: `rule: |change| > ${rssRulePct} % (one peak per run: no interval)`,
          verdict: !beyond ? 'no significant change' : worse ? 'regressed' : 'improved',
          why: beyond ? `beyond ±${rssRulePct} %` : `within ±${rssRulePct} %`,
        });
      }
    }
  }
  const single = a.runs.length === 1 || b.runs.length === 1;
  const caveats = [
    single
      ? 'One run a side: intervals resample trials (5 or more) or 250 ms latency blocks within trials, the noise of the requests measured, not what drifts between whole runs on a shared machine. Compare --repeat sets (A and B as results/<id> of `bench --repeat K`) to include it.'
      : `Runs resampled as well (A: ${a.runs.length}, B: ${b.runs.length}): the intervals include run-to-run drift; with 3 runs a side the run level is coarse (the median of 3 resamples to one of their values).`,
  ];
  if (rows.some((r) => r.verdict === 'not tested'))
    caveats.push('"not tested": a side has no interval for that figure (see why).');
  return {
    a: info(a),
    b: info(b),
    level,
    minChangePct,
    differences: diff,
    forced: diff.blocking.length > 0,
    rows,
    onlyInA: [...rowsA.keys()].filter((k) => !rowsB.has(k)),
    onlyInB: [...rowsB.keys()].filter((k) => !rowsA.has(k)),
    regressed: rows.filter((r) => r.verdict === 'regressed').length,
    improved: rows.filter((r) => r.verdict === 'improved').length,
    caveats,
  };
}

/** Two single runs. */
export function compareResults(
  a: ResultsFile,
  b: ResultsFile,
  dirs: { a: string; b: string },
  options: CompareOptions = {},
): Comparison {
  return compareSides(
    { name: a.runId, dirs: [dirs.a], runs: [a] },
    { name: b.runId, dirs: [dirs.b], runs: [b] },
    options,
  );
}
