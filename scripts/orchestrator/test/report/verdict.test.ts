import t from 'tap';
import { hopVerdict, verdict } from '../../src/report/document.js';
import type { ResultsFile, SummaryRow } from '../../src/results/index.js';

const spread = (x: number) => ({ n: 1, median: x, min: x, max: x });

function row(topology: string, capacityRps: number, capacityIsLowerBound: boolean, gatewayOverheadMs: number | null) {
  return {
    topology,
    replicas: 1,
    hopCount: topology === 'monolith' ? 1 : 2,
    targetRps: 500,
    trials: 1,
    validTrials: 1,
    p50Ms: spread(1),
    p99Ms: spread(5),
    p999Ms: spread(9),
    achievedRps: spread(500),
    errorRate: spread(0),
    cpuSecondsPer1k: spread(topology === 'monolith' ? 0.5 : 1.4),
    rssMaxMB: {},
    capacityRps,
    capacityIsLowerBound,
    gatewayOverheadMs,
  } satisfies SummaryRow;
}

function lines(summary: SummaryRow[]): string[] {
  const runs = summary.map((s) => ({
    phase: 'trial',
    valid: true,
    topology: s.topology,
    replicas: 1,
    latencyMs: { mean: s.topology === 'monolith' ? 1 : 2.5 },
  }));
  const [block] = verdict({ summary, runs } as unknown as ResultsFile);
  return (block as { list: string[] }).list;
}

t.test('the hop sentence follows the measured number, against the article’s +20 ms', async (t) => {
  t.match(hopVerdict(0.34), /costs 0\.340 ms here, a tenth of the article's \+20 ms or less/);
  t.match(
    hopVerdict(1.124),
    /costs 1\.124 ms here, a tenth/,
    '1.1 ms is not "well under a millisecond", but it is a tenth of 20',
  );
  t.match(hopVerdict(7), /costs 7\.000 ms here, less than the article's \+20 ms/);
  t.match(hopVerdict(25), /as much as the article's \+20 ms or more/);
  const text = lines([row('monolith', 10_000, false, null), row('microservices', 2_000, false, 1.124)]).join('\n');
  t.match(text, /own server-side time is 1\.124 ms per request .*: the extra hop costs 1\.124 ms here/);
  t.notMatch(text, /well under a millisecond/);
});

t.test('a capacity search that never failed is stated as a floor, and the ratio bounded accordingly', async (t) => {
  const both = lines([row('monolith', 10_000, false, null), row('microservices', 2_000, false, 0.3)]);
  t.ok(both.includes('Capacity at the SLO: monolith 10000 req/s, microservices 2000 req/s on the same cores (0.20×).'));
  const monoFloor = lines([row('monolith', 16_000, true, null), row('microservices', 2_000, false, 0.3)]);
  t.ok(
    monoFloor.includes(
      'Capacity at the SLO: monolith at least 16000 req/s, microservices 2000 req/s on the same cores (at most 0.13×).',
    ),
    String(monoFloor.at(-1)),
  );
  const microFloor = lines([row('monolith', 4_000, false, null), row('microservices', 4_000, true, 0.3)]);
  t.match(microFloor.at(-1)!, /microservices at least 4000 req\/s on the same cores \(at least 1\.00×\)/);
  const neither = lines([row('monolith', 16_000, true, null), row('microservices', 16_000, true, 0.3)]);
  t.match(neither.at(-1)!, /\(ratio unknown: neither search found its limit\)/);
});
