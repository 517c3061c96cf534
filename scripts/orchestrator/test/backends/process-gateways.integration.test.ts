import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import t from 'tap';
import { deployProcesses } from '../../src/backends/process.js';
import { BACKENDS } from '../../src/backends/registry.js';
import { PRESETS } from '../../src/bench/presets.js';
import { buildProgram } from '../../src/bench/program.js';
import { driverSpec } from '../../src/measure/run.js';
import { loadScenario } from '../../src/scenario/scenario.js';
import { summarize } from '../../src/stats/summary.js';

t.test(
  'the plan scales the tiers apart: the monolith beside the first gateway count, then microservices alone',
  async (t) => {
    const scenario = await loadScenario('quick');
    const plan = buildProgram({
      preset: PRESETS.quick!,
      scenario,
      backend: BACKENDS.process,
      topologies: ['monolith', 'microservices'],
      replicas: [1, 2],
      gateways: [1, 2],
      trials: 1,
      capacity: false,
      sweep: false,
    });
    t.same(
      plan.groups.map((g) => `${g.topologies.join('+')} P=${g.replicas} G=${g.gateways}`),
      [
        'monolith+microservices P=1 G=1',
        'microservices P=1 G=2',
        'monolith+microservices P=2 G=1',
        'microservices P=2 G=2',
      ],
    );
    t.same(plan.gateways, [1, 2]);
  },
);

t.test('two gateways over two prediction replicas: each gateway reaches both; the client spreads', async (t) => {
  const dep = await deployProcesses('microservices', 2, {
    modelPath: DEFAULT_MODEL_PATH,
    runId: `gw-${process.pid}`,
    gateways: 2,
  });
  t.teardown(() => dep.stop());
  t.equal(dep.gateways, 2);
  t.equal(dep.entryUrls.length, 2);
  t.same(
    dep.components.map((c) => c.name),
    ['prediction-1', 'prediction-2', 'gateway-1', 'gateway-2'],
  );
  t.match(
    dep.entrySpreading,
    /client-side balancer in the load generator over 2 gateways, each over 2 prediction replica/,
  );
  for (const url of dep.entryUrls) {
    const servedBy = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ features: [1, 2, 3, 4, 5, 6, 7, 8] }),
      });
      await res.arrayBuffer();
      t.equal(res.status, 200);
      servedBy.add(res.headers.get('x-served-by') ?? '');
    }
    t.same([...servedBy].sort(), ['prediction-1', 'prediction-2'], `${url} balances over both replicas`);
  }
  const spec = driverSpec(await loadScenario('quick'), dep, 'test');
  t.equal(spec.balancer?.kind, 'client-lb', 'several gateways get the client-side balancer, as monolith replicas do');
  t.same(spec.targets, dep.entryUrls);
});

t.test('results keep gateway counts apart', async (t) => {
  const run = (gateways: number | undefined, p50: number) =>
    ({
      phase: 'trial',
      topology: 'microservices',
      replicas: 2,
      gateways,
      valid: true,
      hopCount: 2,
      targetRps: 100,
      latencyMs: { p50, p99: p50, p999: p50 },
      achievedRps: 100,
      errors: { rate: 0 },
      failed: { rate: 0 },
      resources: {},
      hops: {},
    }) as never;
  const rows = summarize([run(undefined, 1), run(2, 2)], []);
  t.same(
    rows.map((r) => [r.gateways, r.p50Ms.median]),
    [
      [1, 1],
      [2, 2],
    ],
    'a run written before gateways were recorded counts as one gateway',
  );
});
