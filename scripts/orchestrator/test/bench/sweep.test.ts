import t from 'tap';
import { BACKENDS } from '../../src/backends/registry.js';
import { PRESETS } from '../../src/bench/presets.js';
import { buildProgram } from '../../src/bench/program.js';
import {
  crossingFrom,
  findCrossover,
  memoryAtEqualRate,
  parseSweepModel,
  pointCapacity,
  pointSlo,
  type SweepPoint,
  sweepModelLabel,
} from '../../src/bench/sweep.js';
import { loadScenario } from '../../src/scenario/scenario.js';
import { runCli } from '../helpers/cli.js';

t.test('sweep model labels round-trip and bad ones are refused', async (t) => {
  for (const l of ['linear-f8', 'rf-xs', 'rf-xl', 'rf-m+512MB']) t.equal(sweepModelLabel(parseSweepModel(l)), l);
  t.throws(() => parseSweepModel('rf-huge'), /sweep model must be linear-fN or rf-SIZE/);
  const bad = await runCli(['bench', '--sweep-models', 'linear-f8,bogus']);
  t.equal(bad.code, 2, 'a usage error: exit 2');
  t.match(bad.err, /^mlbench: .*sweep model must be/);
});

t.test('a point is judged and searched by what its model costs', async (t) => {
  const s = await loadScenario('steady');
  t.equal(pointSlo(s, 0.001).p99Ms, s.slo.p99Ms, 'a cheap model keeps the plan’s SLO');
  t.equal(pointSlo(s, 20).p99Ms, 80, 'a 20 ms model: four times its inference time');
  const base = PRESETS.sweep!.sweep!.capacity;
  t.equal(pointCapacity(base, 0.001, 1).startRps, base.startRps);
  t.equal(pointCapacity(base, 20, 1).startRps, 25, 'half of 1000/20 on one core');
  t.ok(pointCapacity(base, 20, 1).minRps <= 2);
});

const point = (
  model: string,
  topology: string,
  inferenceMs: number,
  capacityRps: number,
  p50Ms: number,
): SweepPoint => ({
  model,
  family: 'random-features',
  size: model,
  topology,
  inferenceMs,
  sloP99Ms: 25,
  capacityRps,
  capacityLimitedBy: 'slo',
  serverCores: 1,
  capacityPerCore: capacityRps,
  commonRateRps: 100,
  p50Ms,
  p99Ms: p50Ms * 3,
  cpuMsPer1k: 100,
  residentMB: topology === 'monolith' ? 600 : 590,
  totalResidentMB: topology === 'monolith' ? 600 : 660,
  residentByKind: topology === 'monolith' ? { monolith: 600 } : { gateway: 70, prediction: 590 },
});

t.test('the crossover: from which cost the ratio holds, interpolated on log inference time', async (t) => {
  t.same(
    crossingFrom(
      [
        { x: 0.01, y: 0.3 },
        { x: 1, y: 0.9 },
      ],
      0.9,
    ),
    { at: 1, bracket: [0.01, 1] },
  );
  const mid = crossingFrom(
    [
      { x: 0.01, y: 0.5 },
      { x: 1, y: 1 },
    ],
    0.75,
  );
  t.equal(mid.at, 0.1, 'halfway on the log axis');
  t.same(
    crossingFrom(
      [
        { x: 0.1, y: 0.95 },
        { x: 1, y: 0.97 },
      ],
      0.9,
    ),
    { at: 0.1, bracket: null },
    'already there',
  );
  t.same(
    crossingFrom(
      [
        { x: 0.1, y: 0.5 },
        { x: 1, y: 0.8 },
      ],
      0.9,
    ),
    { at: null, bracket: null },
    'never',
  );
  t.equal(
    crossingFrom(
      [
        { x: 0.1, y: 0.5 },
        { x: 1, y: 0.95 },
        { x: 10, y: 0.85 },
      ],
      0.9,
    ).at,
    null,
    'must stay there',
  );
  const pts = [
    point('a', 'monolith', 0.001, 10000, 0.3),
    point('a', 'microservices', 0.001, 3000, 0.6),
    point('b', 'monolith', 1, 800, 1.4),
    point('b', 'microservices', 1, 700, 1.7),
    point('c', 'monolith', 20, 45, 21),
    point('c', 'microservices', 20, 44, 21.5),
  ];
  const c = findCrossover(pts);
  t.same(
    c.ratios.map((r) => [r.model, r.capacityRatio, r.p50Overhead]),
    [
      ['a', 0.3, 1],
      ['b', 0.875, 0.214],
      ['c', 0.978, 0.024],
    ],
  );
  t.ok(
    c.capacityRatio90AtInferenceMs! > 1 && c.capacityRatio90AtInferenceMs! < 20,
    `${c.capacityRatio90AtInferenceMs}`,
  );
  t.ok(c.p50Overhead10pctAtInferenceMs! > 1 && c.p50Overhead10pctAtInferenceMs! < 20);
  const m = memoryAtEqualRate(pts, 'c')!;
  t.equal(m.monolithMB, 600);
  t.equal(m.microservicesMB, 660);
  t.match(m.sentence, /60 MB more: the gateway, which carries no model/);
});

t.test('the plan deploys both topologies per model and needs both', async (t) => {
  const scenario = await loadScenario('steady');
  const base = {
    preset: PRESETS.sweep!,
    scenario,
    backend: BACKENDS.process,
    replicas: [1],
    trials: 1,
    capacity: true,
    sweep: true,
  };
  const plan = buildProgram({ ...base, topologies: ['monolith', 'microservices'] });
  const sweepGroups = plan.groups.filter((g) => g.model !== null);
  t.equal(sweepGroups.length, PRESETS.sweep!.sweep!.models.length);
  t.same(
    sweepGroups[0]!.steps.map((s) => `${s.kind} ${s.topology}`),
    ['sweep monolith', 'sweep microservices', 'sweep-rate monolith', 'sweep-rate microservices'],
  );
  const one = buildProgram({ ...base, topologies: ['monolith'] });
  t.equal(one.sweep, null);
  t.match(one.notes.join('\n'), /compares both topologies/);
  const swarm = buildProgram({ ...base, backend: BACKENDS.swarm, topologies: ['monolith', 'microservices'] });
  t.equal(swarm.sweep, null);
  t.match(swarm.notes.join('\n'), /needs --backend process or docker/);
});
