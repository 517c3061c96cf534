import type { SummaryRow } from '../results/index.js';
import type { IntervalFigure } from '../stats/intervals.js';

/** The figures compare judges, each with the direction that is better. */
export const METRICS = ['p50', 'p99', 'p999', 'rate', 'capacity', 'cpu', 'rss'] as const;
export type Metric = (typeof METRICS)[number];

export interface MetricDef {
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  /** The figure the bootstrap resamples (latency, rate, CPU); capacity and RSS have none. */
  figure?: IntervalFigure;
  value(row: SummaryRow): number | null;
}

const withTrials = (row: SummaryRow, v: number) => (row.validTrials > 0 ? v : null);

export const METRIC_DEFS: Record<Metric, MetricDef> = {
  p50: { label: 'p50', unit: 'ms', better: 'lower', figure: 'p50Ms', value: (r) => withTrials(r, r.p50Ms.median) },
  p99: { label: 'p99', unit: 'ms', better: 'lower', figure: 'p99Ms', value: (r) => withTrials(r, r.p99Ms.median) },
  p999: {
    label: 'p99.9',
    unit: 'ms',
    better: 'lower',
    figure: 'p999Ms',
    value: (r) => withTrials(r, r.p999Ms.median),
  },
  rate: {
    label: 'achieved rate',
    unit: 'req/s',
    better: 'higher',
    figure: 'achievedRps',
    value: (r) => withTrials(r, r.achievedRps.median),
  },
  capacity: { label: 'capacity at SLO', unit: 'req/s', better: 'higher', value: (r) => r.capacityRps },
  cpu: {
    label: 'server CPU per 1k',
    unit: 'ms',
    better: 'lower',
    figure: 'cpuSecondsPer1k',
    value: (r) => withTrials(r, r.cpuSecondsPer1k.median * 1000),
  },
  rss: {
    label: 'peak RSS (sum over kinds)',
    unit: 'MB',
    better: 'lower',
    value: (r) => {
      const v = Object.values(r.rssMaxMB);
      return v.length ? v.reduce((a, b) => a + b, 0) : null;
    },
  },
};

export function parseMetrics(text: string): Metric[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !(METRICS as readonly string[]).includes(n));
  if (bad.length || names.length === 0)
    throw new Error(`unknown metric ${bad.join(', ') || '(none)'}; choose from ${METRICS.join(', ')}`);
  return [...new Set(names)] as Metric[];
}
