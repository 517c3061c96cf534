import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ingestK6Summary, type K6Summary, shapeForK6 } from '../../src/driver/k6.js';
import { makeBodies } from '../../src/driver/payload.js';
import type { DriverRunSpec } from '../../src/driver/types.js';
import { driverSpec } from '../../src/measure/run.js';
import { loadScenario } from '../../src/scenario/scenario.js';
import { FIXTURES, ROOT } from '../helpers/paths.js';

/**
 * k6 cannot be installed here, so its side is tested on what can be: real k6 summaries
 * (recorded with k6 v0.47, see fixtures/k6/README.md), the scripts' own modules, their
 * shapes and thresholds (the typecheck and the driver's invocation: k6.integration.test.ts).
 */
const K6_FIXTURES = join(FIXTURES, 'k6/');
const summary = async (name: string) =>
  JSON.parse(await readFile(join(K6_FIXTURES, `k6-summary-${name}.json`), 'utf8')) as K6Summary;

// The k6 modules read k6's globals at call time; outside k6 they are plain objects.
(globalThis as { __ENV?: Record<string, string> }).__ENV = {};
const { scenariosFor, meanRate } = await import('../../../../loadtests/k6/lib/scenario.ts');
const { thresholdsFor } = await import('../../../../loadtests/k6/lib/thresholds.ts');
const { makePayload } = await import('../../../../loadtests/k6/lib/payload.ts');

t.test('a healthy k6 summary: requests, no failures, percentiles as k6 computed them', async (t) => {
  const k = ingestK6Summary(await summary('healthy'));
  t.equal(k.requests, 1001);
  t.equal(k.failed, 0);
  t.equal(k.dropped, 0);
  t.equal(k.latencyMs.p50, 1.773);
  t.equal(k.latencyMs.p99, 3.485);
  t.equal(k.latencyMs.p999, 9.963);
  t.equal(k.latencyMs.max, 10.476);
  t.ok(Object.values(k.thresholds).every(Boolean), 'every threshold passed');
});

t.test('an overloaded k6 summary: dropped iterations and failures carried over', async (t) => {
  const k = ingestK6Summary(await summary('overloaded'));
  t.equal(k.requests, 939);
  t.equal(k.failed, 18, 'http_req_failed passes are the failed requests');
  t.equal(k.dropped, 1062, 'dropped_iterations → dropped');
  t.equal(k.latencyMs.p99, 42.519);
  t.equal(k.thresholds['dropped_iterations count==0'], false);
  t.equal(k.thresholds['http_req_duration p(99)<25'], false);
});

t.test('the measured phase wins over whole-test metrics that include warm-up', async (t) => {
  const s = await summary('healthy');
  s.metrics['http_reqs{scenario:measure}'] = { type: 'counter', values: { count: 600, rate: 200 } };
  s.metrics['http_req_duration{scenario:measure}'] = {
    type: 'trend',
    values: { med: 1.5, 'p(90)': 2, 'p(99)': 3, 'p(99.9)': 4, avg: 1.6, min: 0.5, max: 5 },
  };
  const k = ingestK6Summary(s);
  t.equal(k.requests, 600);
  t.equal(k.latencyMs.p99, 3);
});

t.test('anything else is refused with a reason', async (t) => {
  t.throws(() => ingestK6Summary({} as K6Summary), /not a k6 summary/);
  t.throws(() => ingestK6Summary({ metrics: { vus: { values: { value: 1 } } } }), /no http_reqs/);
});

t.test('k6 scripts send the same request bodies as the built-in driver', async (t) => {
  for (const spec of [
    { features: 8, batchSize: 1, seed: 42 },
    { features: 3, batchSize: 4, seed: 7 },
  ]) {
    const ours = makeBodies(spec, 16);
    const k6 = makePayload(spec, 16);
    t.equal(k6.path, ours.path);
    t.same(
      k6.bodies,
      ours.bodies.map((b) => b.toString('utf8')),
      `identical bodies for ${JSON.stringify(spec)}`,
    );
  }
});

t.test('every scenario file becomes k6 scenarios with its own shape and SLO thresholds', async (t) => {
  const dir = join(ROOT, 'loadtests/scenarios');
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
    const shape = { name: file, ...JSON.parse(await readFile(join(dir, file), 'utf8')) };
    const scenarios = scenariosFor(shape);
    const m = scenarios.measure as unknown as Record<string, unknown>;
    t.equal(m.executor, shape.executor, `${file}: executor`);
    for (const key of ['rate', 'duration', 'startRate', 'stages', 'vus', 'preAllocatedVUs', 'maxVUs', 'timeUnit'])
      if (shape[key] !== undefined) t.same(m[key], shape[key], `${file}: ${key}`);
    const warm = shape.warmup && shape.warmup !== '0s' && shape.executor !== 'constant-vus';
    t.equal(Boolean(scenarios.warmup), Boolean(warm), `${file}: warm-up scenario only when the file asks for one`);
    if (warm) t.equal(m.startTime, shape.warmup, `${file}: measuring starts after the warm-up`);
    const th = thresholdsFor(shape);
    t.same(th['http_req_duration{scenario:measure}'], [`p(99)<${shape.slo?.p99Ms ?? 25}`], `${file}: p99 SLO`);
    t.same(th['dropped_iterations{scenario:measure}'], ['count==0'], `${file}: no dropped arrivals`);
  }
  t.equal(
    meanRate({ name: 'r', executor: 'ramping-arrival-rate', startRate: 0, stages: [{ target: 100, duration: '10s' }] }),
    50,
  );
});

t.test('shapes for k6 follow the driver spec (ramping stages, VUs)', async (t) => {
  const s = await loadScenario('ramp');
  const spec: DriverRunSpec = driverSpec(s, { entryUrls: ['http://127.0.0.1:1'], topology: 'monolith' } as never, 'x');
  const shape = shapeForK6(spec);
  t.equal(shape.executor, 'ramping-arrival-rate');
  t.equal(shape.startRate, 100);
  t.same(shape.stages, [
    { target: 3000, duration: '30000ms' },
    { target: 3000, duration: '10000ms' },
  ]);
  t.equal(shape.maxVUs, s.maxVUs);
});

t.test('k6 lateness from its own figures', async (t) => {
  const { k6Lateness, cpuShareWhileLoading } = await import('../../src/driver/k6.js');
  const k = ingestK6Summary(await summary('overloaded'));
  const o = { maxVUs: 8, targetIterations: k.iterations + k.dropped, cpuCores: 0.4 };
  t.equal(k6Lateness(k, o), undefined, 'every VU busy waiting on the server: the server’s backlog, not k6’s');
  t.match(k6Lateness(k, { ...o, maxVUs: 500 }), /dropped 1062 arrivals with 8 of 500 VUs/);
  t.match(k6Lateness(k, { ...o, cpuCores: 0.95 }), /k6 used 95% of a core/);
  const healthy = ingestK6Summary(await summary('healthy'));
  t.match(
    k6Lateness(healthy, { maxVUs: 500, targetIterations: 2 * healthy.iterations, cpuCores: 0.3 }),
    /started .* of/,
  );
  // Start-up (about a second of CPU compiling the scripts) is left out of the share.
  const samples = [
    { t: 0, cpu: 0 },
    { t: 1000, cpu: 0.9 },
    { t: 2000, cpu: 1.4 },
    { t: 3000, cpu: 1.9 },
  ];
  t.ok(Math.abs(cpuShareWhileLoading(samples, 2000)! - 0.5) < 1e-9, 'half a core while loading');
  t.equal(cpuShareWhileLoading(samples.slice(0, 1), 2000), undefined);
});
