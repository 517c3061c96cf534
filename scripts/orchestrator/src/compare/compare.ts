import { configLabel, gatewaysOf } from '../labels.js';
import type { ResultsFile, RunResult, SummaryRow } from '../results-schema.js';
import { CONFIDENCE_LEVEL, percentileInterval } from '../stats/bootstrap.js';
import { type Replicates, replicatesOf } from '../stats/intervals.js';
import { capacityBracket } from '../summary.js';
import { type Differences, differences } from './compatible.js';
import { METRIC_DEFS, METRICS, type Metric } from './metrics.js';

/**
 * `mlbench compare A B`: per configuration and figure, A's and B's values, the change in %
 * with a confidence interval, and a verdict from a stated test:
 * - latency percentiles, achieved rate, CPU per 1k: a bootstrap of the ratio B/A, A and B
 *   resampled independently (trials, or blocks within trials: stats/intervals.ts); the change
 *   is significant when its 95 % interval excludes 0, and counts as a regression or an
 *   improvement only when it is also at least minChangePct;
 * - capacity: the two search brackets [highest pass, lowest fail) do not overlap;
 * - RSS (one peak per run, no interval): a change beyond ±rssRulePct.
 */

export type Verdict = 'improved' | 'regressed' | 'no significant change' | 'not tested';

export interface ComparisonRow {
  config: string;
  targetRps: number;
  metric: Metric;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  a: number;
  b: number;
  /** (b / a − 1) · 100; null when a is 0. */
  changePct: number | null;
  /** The change's confidence interval in % (bootstrap only). */
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

export interface Comparison {
  a: { runId: string; dir: string };
  b: { runId: string; dir: string };
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

const rowKey = (r: SummaryRow) => `${configLabel(r)} @ ${r.targetRps} req/s`;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function sameConfig(row: SummaryRow) {
  return (r: RunResult) =>
    r.topology === row.topology && r.replicas === row.replicas && gatewaysOf(r) === gatewaysOf(row);
}

function trials(res: ResultsFile, row: SummaryRow): RunResult[] {
  const same = sameConfig(row);
  return res.runs.filter((r) => r.phase === 'trial' && r.valid && r.targetRps === row.targetRps && same(r));
}

function bootstrapRow(
  base: Omit<ComparisonRow, 'changeCi' | 'test' | 'verdict' | 'why'>,
  ra: Replicates,
  rb: Replicates,
  level: number,
  minChangePct: number,
): ComparisonRow {
  // Centre each side's replicates on the figure the summary records (see intervals.ts).
  const sa = ra.point > 0 ? base.a / ra.point : 1;
  const sb = rb.point > 0 ? base.b / rb.point : 1;
  const n = Math.min(ra.values.length, rb.values.length);
  const d: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = ra.values[i]! * sa;
    if (x > 0) d.push(((rb.values[i]! * sb) / x - 1) * 100);
  }
  const test = `bootstrap of B/A (${ra.method === 'bootstrap-trials' ? 'trials' : 'blocks within trials'}: ${ra.units} vs ${rb.units} units), ${Math.round(level * 100)} % interval excludes 0 and |change| ≥ ${minChangePct} %`;
  if (d.length < n / 2 || base.changePct === null)
    return { ...base, changeCi: null, test, verdict: 'not tested', why: 'A is 0' };
  d.sort((x, y) => x - y);
  const ci = percentileInterval(d, level);
  const changeCi = { lo: round(ci.lo), hi: round(ci.hi) };
  const significant = ci.lo > 0 || ci.hi < 0;
  if (!significant)
    return { ...base, changeCi, test, verdict: 'no significant change', why: 'the interval includes 0: within noise' };
  if (Math.abs(base.changePct) < minChangePct)
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

export function compareResults(
  a: ResultsFile,
  b: ResultsFile,
  dirs: { a: string; b: string },
  options: CompareOptions = {},
): Comparison {
  const level = options.level ?? CONFIDENCE_LEVEL;
  const minChangePct = options.minChangePct ?? 5;
  const rssRulePct = options.rssRulePct ?? 10;
  const diff = differences(a, b);
  if (diff.blocking.length && !options.force)
    throw new IncomparableError(
      `refusing to compare: ${diff.blocking.join('; ')} (--force compares anyway and prints what differs)`,
    );
  const metrics = options.metrics ?? [...METRICS];
  const inB = new Map(b.summary.map((r) => [rowKey(r), r]));
  const inA = new Set(a.summary.map(rowKey));
  const rows: ComparisonRow[] = [];
  for (const ra of a.summary) {
    const rb = inB.get(rowKey(ra));
    if (!rb) continue;
    const config = configLabel(ra);
    const repA = replicatesOf(trials(a, ra), `${config}|A`);
    const repB = replicatesOf(trials(b, rb), `${config}|B`);
    for (const m of metrics) {
      const def = METRIC_DEFS[m];
      const va = def.value(ra);
      const vb = def.value(rb);
      if (va === null || vb === null) continue;
      const base = {
        config,
        targetRps: ra.targetRps,
        metric: m,
        label: def.label,
        unit: def.unit,
        better: def.better,
        a: va,
        b: vb,
        changePct: va !== 0 ? round((vb / va - 1) * 100) : null,
      };
      const worseWhen = (pct: number) => (def.better === 'lower' ? pct > 0 : pct < 0);
      if (def.figure) {
        const x = repA[def.figure];
        const y = repB[def.figure];
        if (x && y) rows.push(bootstrapRow(base, x, y, level, minChangePct));
        else
          rows.push({
            ...base,
            changeCi: null,
            test: 'none',
            verdict: 'not tested',
            why: `no interval: ${!x && !y ? 'both sides have' : x ? 'B has' : 'A has'} fewer than 5 trials${def.figure === 'cpuSecondsPer1k' ? ' (CPU is measured per trial, not per block)' : ' and no latency blocks'}`,
          });
      } else if (m === 'capacity') {
        const ca = a.capacity.find(
          (c) => c.topology === ra.topology && c.replicas === ra.replicas && gatewaysOf(c) === gatewaysOf(ra),
        );
        const cb = b.capacity.find(
          (c) => c.topology === rb.topology && c.replicas === rb.replicas && gatewaysOf(c) === gatewaysOf(rb),
        );
        if (!ca || !cb) continue;
        const ba = ra.capacityInterval ?? capacityBracket(ca);
        const bb = rb.capacityInterval ?? capacityBracket(cb);
        const br = (x: typeof ba) => `[${x.lo}, ${x.hi ?? '∞'})`;
        const test = 'capacity search brackets [highest pass, lowest fail) do not overlap';
        const verdict: Verdict =
          bb.hi !== null && bb.hi <= ba.lo
            ? 'regressed'
            : ba.hi !== null && ba.hi <= bb.lo
              ? 'improved'
              : 'no significant change';
        rows.push({
          ...base,
          changeCi: null,
          test,
          verdict,
          why:
            verdict === 'no significant change'
              ? `brackets ${br(ba)} and ${br(bb)} overlap`
              : `brackets ${br(ba)} and ${br(bb)} are disjoint`,
        });
      } else {
        const pct = base.changePct;
        const beyond = pct !== null && Math.abs(pct) > rssRulePct;
        rows.push({
          ...base,
          changeCi: null,
          test: `rule: |change| > ${rssRulePct} % (one peak per run: no interval)`,
          verdict: !beyond ? 'no significant change' : worseWhen(pct!) ? 'regressed' : 'improved',
          why: beyond ? `beyond ±${rssRulePct} %` : `within ±${rssRulePct} %`,
        });
      }
    }
  }
  const caveats = [
    'Intervals resample trials (5 or more) or 250 ms latency blocks within trials: they hold the noise of the requests measured, not what changes between whole runs on a shared machine. For that, run both sides with --repeat and read the spread.',
  ];
  if (rows.some((r) => r.verdict === 'not tested'))
    caveats.push(
      '"not tested": a side has no interval for that figure (fewer than 5 trials for CPU; k6 runs have no latency blocks).',
    );
  return {
    a: { runId: a.runId, dir: dirs.a },
    b: { runId: b.runId, dir: dirs.b },
    level,
    minChangePct,
    differences: diff,
    forced: diff.blocking.length > 0,
    rows,
    onlyInA: a.summary.map(rowKey).filter((k) => !inB.has(k)),
    onlyInB: b.summary.map(rowKey).filter((k) => !inA.has(k)),
    regressed: rows.filter((r) => r.verdict === 'regressed').length,
    improved: rows.filter((r) => r.verdict === 'improved').length,
    caveats,
  };
}
