import { join } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import { max, mean, median, min, sampleStandardDeviation } from 'simple-statistics';
import type { ResultsFile, SummaryRow } from '../results/index.js';
import { configLabel } from '../results/labels.js';
import { significant } from '../stats/round.js';

/**
 * `bench --repeat K`: how much each headline figure moves between whole repeats of a bench.
 * A figure's spread within one run (trials) hides what changes between runs on a shared
 * machine (other tenants, thermal state, the page cache); only repeats show that.
 */

export const HEADLINE_FIGURES = ['capacityRps', 'p50Ms', 'p99Ms', 'cpuMsPer1k'] as const;
export type HeadlineFigure = (typeof HEADLINE_FIGURES)[number];

export interface FigureSpread {
  /** One value per repeat that measured it, in repeat order. */
  values: number[];
  median: number;
  min: number;
  max: number;
  /** Sample standard deviation over the mean; null with fewer than 2 values or a zero mean. */
  cv: number | null;
  /** max / min; null when min is 0 or fewer than 2 values. */
  maxOverMin: number | null;
  /** Capacity only: repeats whose figure is a lower bound (load generator or search range), not the SLO's. */
  bounds?: number;
}

export interface RepeatRow {
  config: string;
  targetRps: number;
  figures: Partial<Record<HeadlineFigure, FigureSpread>>;
}

export interface RepeatSummary {
  runIds: string[];
  repeats: number;
  rows: RepeatRow[];
}

const round = (x: number, digits = 4) => significant(x, digits);

export function figureSpread(values: number[]): FigureSpread | undefined {
  if (values.length === 0) return undefined;
  const m = mean(values);
  const lo = min(values);
  return {
    values,
    median: round(median(values)),
    min: lo,
    max: max(values),
    cv: values.length >= 2 && m !== 0 ? round(sampleStandardDeviation(values) / Math.abs(m), 3) : null,
    maxOverMin: values.length >= 2 && lo > 0 ? round(max(values) / lo, 3) : null,
  };
}

/** A summary row's headline figures: trial medians (the row's own summary of its trials). */
function figuresOf(row: SummaryRow): Partial<Record<HeadlineFigure, number>> {
  const out: Partial<Record<HeadlineFigure, number>> = {};
  if (row.capacityRps !== null) out.capacityRps = row.capacityRps;
  if (row.validTrials > 0) {
    out.p50Ms = row.p50Ms.median;
    out.p99Ms = row.p99Ms.median;
    out.cpuMsPer1k = Number((row.cpuSecondsPer1k.median * 1000).toFixed(3));
  }
  return out;
}

/** Rows matched across repeats by configuration and target rate, in the first repeat's order. */
export function repeatSummary(results: ResultsFile[]): RepeatSummary {
  const keyOf = (r: SummaryRow) => `${configLabel(r)}@${r.targetRps}`;
  const order: string[] = [];
  const rows = new Map<string, SummaryRow[]>();
  for (const res of results)
    for (const row of res.summary) {
      const k = keyOf(row);
      if (!rows.has(k)) {
        rows.set(k, []);
        order.push(k);
      }
      rows.get(k)!.push(row);
    }
  return {
    runIds: results.map((r) => r.runId),
    repeats: results.length,
    rows: order.map((k) => {
      const same = rows.get(k)!;
      const figures: RepeatRow['figures'] = {};
      for (const f of HEADLINE_FIGURES) {
        const values = same.map((r) => figuresOf(r)[f]).filter((v): v is number => v !== undefined);
        const s = figureSpread(values);
        if (!s) continue;
        if (f === 'capacityRps') s.bounds = same.filter((r) => r.capacityRps !== null && r.capacityIsLowerBound).length;
        figures[f] = s;
      }
      return { config: configLabel(same[0]!), targetRps: same[0]!.targetRps, figures };
    }),
  };
}

const pct = (cv: number | null) => (cv === null ? '–' : `${(cv * 100).toFixed(1)} %`);
const ratio = (r: number | null) => (r === null ? '–' : `${r.toFixed(2)}×`);

/** The terminal's and repeat.md's table: one line per configuration and figure. */
export function repeatTable(s: RepeatSummary): string {
  const lines = [
    `Spread over ${s.repeats} repeats (${s.runIds.join(', ')}): CV = sample SD / mean; max/min of the per-repeat values.`,
    '',
    '| configuration | figure | per repeat | median | CV | max/min |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of s.rows)
    for (const f of HEADLINE_FIGURES) {
      const x = row.figures[f];
      if (!x) continue;
      const bound = x.bounds ? ` (${x.bounds} of ${x.values.length} a lower bound: ≥)` : '';
      lines.push(
        `| ${row.config} @ ${row.targetRps} req/s | ${f}${bound} | ${x.values.map((v) => round(v, 4)).join(', ')} | ${x.median} | ${pct(x.cv)} | ${ratio(x.maxOverMin)} |`,
      );
    }
  return `${lines.join('\n')}\n`;
}

/** Written beside the repeats' own folders, under a name of its own (never over a run's results). */
export async function writeRepeatSummary(outDir: string, runId: string, s: RepeatSummary): Promise<string> {
  const file = join(outDir, `${runId}.repeat.json`);
  await writeFileAtomic(file, `${JSON.stringify(s, null, 1)}\n`);
  await writeFileAtomic(join(outDir, `${runId}.repeat.md`), repeatTable(s));
  return file;
}
