import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { nginxBinary } from '../../src/backends/nginx.js';
import type { PerfResults } from '../../src/perf/types.js';
import { which } from '../../src/sys/which.js';
import { CLI, processesOfRun } from '../helpers/servers.js';

const run = promisify(execFile);

t.test('mlbench perf runs end to end, writes its results once, and leaves nothing running', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'mlbench-perf-'));
  const { stdout } = await run(
    process.execPath,
    [CLI, 'perf', '--rounds', '1', '--duration', '500ms', '--memory-requests', '2000', '--out', out],
    { timeout: 300_000 },
  );
  t.match(stdout, /\| target \| measured \| wanted \| met \|/, 'prints the targets table');
  const files = (await readdir(join(out, 'perf'))).sort();
  const json = files.find((f) => f.endsWith('.json'))!;
  t.ok(json, 'results/perf/<id>.json written');
  t.ok(files.includes('latest.md'), 'and latest.md');
  const r = JSON.parse(await readFile(join(out, 'perf', json), 'utf8')) as PerfResults;
  for (const side of ['monolith', 'fastify', 'bare', 'monolith-no-metrics', 'gateway', 'proxy'])
    t.ok((r.throughput[side]?.median ?? 0) > 0, `${side}: a maximum throughput`);
  // nginx and k6 are part of CI (apt's nginx-light, the workplace's k6); elsewhere they are
  // left out with a line saying so, never faked.
  if (nginxBinary()) {
    t.ok((r.throughput.nginx?.median ?? 0) > 0, 'nginx: a maximum throughput over the same replica');
    t.ok((r.gatewayHop.nginxP50Ms?.median ?? 0) > 0, 'nginx: a p50 at the hop rate');
    t.ok((r.cpuMsPer1k?.nginx?.median ?? 0) > 0, 'nginx: its own CPU per 1k');
    t.ok((r.cpuMsPer1k?.gateway?.median ?? 0) > 0, 'the gateway: its own CPU per 1k');
    t.match(stdout, /\| hop added at p50: our gateway \/ minimal proxy \/ nginx \(µs\) \| -?\d+ \/ -?\d+ \/ -?\d+ \|/);
  } else if (process.env.CI) t.fail('CI installs nginx-light: the nginx side must run');
  if (which('k6')) {
    t.ok(r.driver.k6 && r.driver.k6.probes.length > 0, 'k6 probed on the same server');
    t.ok((r.driver.k6?.sustainedRps ?? 0) > 0, 'k6 held some rate');
    t.ok(r.driver.k6!.probes.every((p) => p.driver === 'k6'));
    t.match(stdout, /built-in driver sustained open-loop \/ k6’s, same CPUs \| \d/);
  } else if (process.env.MLBENCH_REAL_K6) t.fail('MLBENCH_REAL_K6 is set but k6 is not on PATH');
  t.ok(r.driver.probes.length > 0, 'the driver search probed');
  t.ok((r.driver.builtinClosedRps?.median ?? 0) > 0, 'the built-in driver ran closed loop');
  t.ok((r.driver.closedOverAutocannon?.median ?? 0) > 0, 'paired with autocannon');
  t.match(stdout, /\| ratio built-in closed loop \/ autocannon \(paired rounds\) \| \d/);
  t.same(
    r.driver.byWorkers?.map((w) => w.workers),
    [1, 2],
    'the sustained rate against the worker count, side by side',
  );
  t.ok((r.driver.byWorkers?.[0]?.sustainedRps ?? 0) > 0, 'one worker held some rate');
  // Two workers that share the driver's one core (this machine) may hold none within the 1 ms
  // lag limit: both spin before their sends. The figure is reported either way, never faked.
  t.ok(
    r.driver.byWorkers?.every((w) => Number.isFinite(w.sustainedRps) && w.sustainedRps >= 0),
    'every count has a figure',
  );
  t.match(stdout, /\| built-in driver with 2 workers: highest sustained open-loop rate \(req\/s\) \| (\d|none within)/);
  t.equal(r.inference.length, 3);
  t.same(Object.keys(r.memory).sort(), ['gateway', 'monolith', 'prediction']);
  t.ok(r.targets.length >= 12, 'every target judged');
  t.same(processesOfRun(r.runId), [], 'no service or driver process left');
});
