import { readdir } from 'node:fs/promises';
import t from 'tap';
import { driverMode, meanRatePerSecond } from '../../src/measure/run.js';
import { atRate, loadScenario, toScenario } from '../../src/scenario/scenario.js';
import { SCENARIO_DIR } from '../../src/sys/repo.js';

t.test('every shipped scenario loads and maps to a driver mode', async (t) => {
  const files = (await readdir(SCENARIO_DIR)).filter((f) => f.endsWith('.json'));
  t.ok(files.length >= 5, `${files.length} scenarios`);
  for (const f of files) {
    const s = await loadScenario(f.replace(/\.json$/, ''));
    t.ok(s.durationMs > 0, `${s.name}: ${s.durationMs} ms`);
    t.ok(meanRatePerSecond(s) > 0, `${s.name}: mean rate ${meanRatePerSecond(s).toFixed(0)}/s`);
    t.equal(driverMode(s).kind, 'open', `${s.name} is open loop`);
  }
});

t.test('k6 semantics: rate per timeUnit, stages, defaults', async (t) => {
  const perMinute = toScenario('m', { executor: 'constant-arrival-rate', rate: 600, timeUnit: '1m', duration: '10s' });
  t.equal(meanRatePerSecond(perMinute), 10);
  t.equal(perMinute.warmupMs, 2000, 'default warm-up');
  t.equal(perMinute.slo.p99Ms, 25, 'default SLO');
  const ramp = toScenario('r', {
    executor: 'ramping-arrival-rate',
    startRate: 0,
    stages: [
      { target: 100, duration: '10s' },
      { target: 100, duration: '10s' },
    ],
  });
  t.equal(ramp.durationMs, 20_000);
  t.equal(meanRatePerSecond(ramp), 75);
  const mode = driverMode(ramp);
  t.equal(mode.kind === 'open' && mode.schedule.stages?.length, 2);
  const probe = atRate(ramp, 400, 3000, 500);
  t.equal(probe.executor, 'constant-arrival-rate');
  t.equal(meanRatePerSecond(probe), 400);
  t.equal(probe.warmupMs, 500);
});

t.test('invalid scenarios name the field', async (t) => {
  t.throws(() => toScenario('x', { executor: 'per-vu-iterations', duration: '1s' }), /scenario x: \/executor/);
  t.throws(
    () => toScenario('x', { executor: 'constant-arrival-rate', rate: 5, duration: '1s', extra: 1 }),
    /scenario x: \/extra Unexpected property/,
  );
  t.throws(() => toScenario('x', { executor: 'ramping-arrival-rate' }), /needs "stages"/);
  t.throws(
    () =>
      toScenario('x', { executor: 'constant-arrival-rate', rate: 5, duration: '1s', preAllocatedVUs: 10, maxVUs: 5 }),
    /maxVUs/,
  );
  t.throws(
    () => toScenario('x', { executor: 'constant-arrival-rate', rate: 5, duration: '1s', payload: { features: 0 } }),
    /\/payload\/features/,
  );
});
