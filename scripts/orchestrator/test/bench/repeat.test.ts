import t from 'tap';
import { figureSpread, repeatSummary, repeatTable } from '../../src/bench/repeat.js';
import type { ResultsFile, SummaryRow } from '../../src/results/index.js';

const s = (median: number) => ({ median, min: median, max: median, n: 1 });
function row(o: Partial<SummaryRow> & { capacityRps: number | null; p50: number; cpu: number }): SummaryRow {
  return {
    topology: 'monolith',
    replicas: 1,
    hopCount: 1,
    targetRps: 1000,
    trials: 1,
    validTrials: 1,
    p50Ms: s(o.p50),
    p99Ms: s(o.p50 * 4),
    p999Ms: s(o.p50 * 8),
    achievedRps: s(1000),
    errorRate: s(0),
    cpuSecondsPer1k: s(o.cpu),
    rssMaxMB: {},
    capacityIsLowerBound: false,
    gatewayOverheadMs: null,
    ...o,
  } as SummaryRow;
}
const results = (runId: string, rows: SummaryRow[]) => ({ runId, summary: rows }) as unknown as ResultsFile;

t.test('figureSpread: CV is sample SD over the mean, max/min the range', async (t) => {
  const x = figureSpread([10, 12, 14])!;
  t.equal(x.median, 12);
  t.equal(x.cv, 0.167, 'SD 2 / mean 12');
  t.equal(x.maxOverMin, 1.4);
  t.same(figureSpread([5])!.cv, null, 'one value: no spread to speak of');
  t.equal(figureSpread([0, 3])!.maxOverMin, null, 'min 0: no ratio');
  t.equal(figureSpread([]), undefined);
});

t.test('repeatSummary matches rows across repeats and counts capacity bounds', async (t) => {
  const summary = repeatSummary([
    results('a-r1', [row({ capacityRps: 12000, p50: 0.3, cpu: 0.24 })]),
    results('a-r2', [row({ capacityRps: 16000, p50: 0.33, cpu: 0.26, capacityIsLowerBound: true })]),
    results('a-r3', [
      row({ capacityRps: 13000, p50: 0.36, cpu: 0.25 }),
      row({ topology: 'microservices', capacityRps: null, p50: 0.7, cpu: 0.6 }),
    ]),
  ]);
  t.equal(summary.repeats, 3);
  t.same(summary.runIds, ['a-r1', 'a-r2', 'a-r3']);
  const mono = summary.rows.find((r) => r.config === 'monolith×1')!;
  t.same(mono.figures.capacityRps?.values, [12000, 16000, 13000]);
  t.equal(mono.figures.capacityRps?.bounds, 1, 'one repeat ended on the load generator: a bound');
  t.equal(mono.figures.capacityRps?.maxOverMin, 1.33);
  t.same(mono.figures.cpuMsPer1k?.values, [240, 260, 250], 'CPU per 1k in ms');
  const micro = summary.rows.find((r) => r.config === 'microservices×1')!;
  t.equal(micro.figures.capacityRps, undefined, 'no capacity measured: no figure, never a null spread');
  t.equal(micro.figures.p50Ms?.cv, null, 'measured once: no CV');
  const table = repeatTable(summary);
  t.match(
    table,
    /\| monolith×1 @ 1000 req\/s \| capacityRps \(1 of 3 a lower bound: ≥\) \| 12000, 16000, 13000 \| 13000 \|/,
  );
  t.match(table, /\| microservices×1 @ 1000 req\/s \| p50Ms \| 0\.7 \| 0\.7 \| – \| – \|/);
});
