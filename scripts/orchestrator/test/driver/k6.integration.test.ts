import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { K6Driver } from '../../src/driver/k6.js';
import { measureRun } from '../../src/measure/run.js';
import { atRate, loadScenario } from '../../src/scenario/scenario.js';
import { FIXTURES, ROOT } from '../helpers/paths.js';
import { startFixtureServer } from '../helpers/servers.js';

/**
 * k6 cannot be installed here, so its side is tested on what can be: real k6 summaries
 * (recorded with k6 v0.47, see fixtures/k6/README.md), the scripts' own modules, their
 * typecheck, and the k6 driver's invocation through a stand-in binary.
 */
const run = promisify(execFile);
const K6_FIXTURES = join(FIXTURES, 'k6/');
const FAKE_K6 = join(K6_FIXTURES, 'fake-k6.mjs');

t.test(
  'each shape script opens a scenario file that exists, and all of them typecheck against @types/k6',
  async (t) => {
    const dir = join(ROOT, 'loadtests/k6');
    const scripts = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    t.same(scripts.sort(), ['constant.ts', 'ramp.ts', 'smoke.ts', 'soak.ts', 'spike.ts']);
    for (const s of scripts) {
      const text = await readFile(join(dir, s), 'utf8');
      const opened = /open\('(\.\.\/scenarios\/[\w-]+\.json)'\)/.exec(text)?.[1];
      if (!t.ok(opened, `${s} opens its scenario file`) || !opened) continue;
      await t.resolves(readFile(join(dir, opened)), `${s}: ${opened} exists`);
    }
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    await t.resolves(run(tsc, ['-p', join(dir, 'tsconfig.json')]), 'tsc -p loadtests/k6 passes');
  },
);

t.test('--driver k6 runs k6 with the run’s shape and ingests its summary into a RunResult', async (t) => {
  const { deployment } = await startFixtureServer(0.2);
  t.teardown(() => deployment.stop());
  const workDir = await mkdtemp(join(tmpdir(), 'mlbench-k6-'));
  const scenario = atRate(await loadScenario('quick'), 200, 5_000, 0);
  for (const [recording, expectRequests] of [
    ['healthy', 1001],
    ['overloaded', 939],
  ] as const) {
    process.env.K6_FAKE_SUMMARY = join(K6_FIXTURES, `k6-summary-${recording}.json`);
    const driver = new K6Driver({ workDir, runId: `k6-${process.pid}`, binary: FAKE_K6 });
    const r = await measureRun({ driver, driverName: 'k6', minDurationMs: 1_000 }, deployment, scenario, {
      phase: 'trial',
      trial: 1,
    });
    t.equal(r.driver, 'k6');
    t.equal(r.requests, expectRequests, `${recording}: requests from http_reqs`);
    t.equal(r.latencyHistogram, '', `${recording}: no histogram is invented from percentiles`);
    if (recording === 'overloaded') {
      t.equal(r.dropped, 1062);
      t.equal(r.errors.count, 18);
      t.notOk(r.sloMet, 'dropped arrivals and a p99 of 42 ms miss the SLO');
    } else t.ok(r.sloMet, 'the healthy run meets the SLO');
  }
  delete process.env.K6_FAKE_SUMMARY;
  const written = JSON.parse(await readFile(join(workDir, 'k6-1-scenario.json'), 'utf8'));
  t.match(written, { executor: 'constant-arrival-rate', rate: 200, duration: '5000ms', warmup: '0s' });
});

t.test('Ctrl-C: close() stops the k6 run in flight as k6 stops, and refuses the next run', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'mlbench-k6-close-'));
  process.env.K6_FAKE_SUMMARY = join(K6_FIXTURES, 'k6-summary-healthy.json');
  process.env.K6_FAKE_HOLD_MS = '60000';
  t.teardown(() => {
    delete process.env.K6_FAKE_SUMMARY;
    delete process.env.K6_FAKE_HOLD_MS;
  });
  const driver = new K6Driver({ workDir, runId: `k6-close-${process.pid}`, binary: FAKE_K6 });
  const spec = {
    label: 'trial monolith×1',
    targets: ['http://127.0.0.1:1'],
    payload: { features: 8, batchSize: 1, seed: 1 },
    mode: { kind: 'closed' as const, vus: 1, durationMs: 60_000 },
    connectionsPerTarget: 1,
    timeoutMs: 1_000,
  };
  const t0 = performance.now();
  const running = driver.run(spec).then(
    () => 'completed',
    (err: Error) => err.message,
  );
  await new Promise((r) => setTimeout(r, 1_000));
  await driver.close();
  t.match(await running, /k6 exited with code 105/, 'the run in flight ends as k6 ends on Ctrl-C (105)');
  t.ok(performance.now() - t0 < 15_000, 'at once, not after its 60 s');
  await t.rejects(driver.run(spec), /driver closed/, 'a run asked for afterwards is refused');
});
