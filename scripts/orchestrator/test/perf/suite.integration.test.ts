import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { nginxBinary } from '../../src/backends/nginx.js';
import { checkTargets } from '../../src/perf/goals.js';
import { perfTable } from '../../src/perf/table.js';
import { type PerfResults, spread } from '../../src/perf/types.js';
import { which } from '../../src/sys/which.js';
import { CLI, processesOfRun } from '../helpers/servers.js';

const run = promisify(execFile);

t.test('spread: median of odd and even counts, with the range', async (t) => {
  t.same(spread([3, 1, 2]), { median: 2, min: 1, max: 3, values: [3, 1, 2] });
  t.equal(spread([4, 1, 3, 2]).median, 2.5);
});

t.test('targets are judged from the medians, each met or not', async (t) => {
  const s = (x: number) => spread([x]);
  const r = {
    ratios: {
      'monolith / fastify': s(0.85),
      'monolith / bare': s(0.6),
      'monolith / monolith-no-metrics': s(0.97),
      'gateway / monolith': s(0.55),
      'gateway / proxy': s(0.92),
    },
    gatewayHop: {
      rateRps: 1000,
      directP50Ms: s(0.2),
      gatewayP50Ms: s(0.4),
      directP99Ms: s(1),
      gatewayP99Ms: s(1.5),
      proxyP50Ms: s(0.34),
      proxyP99Ms: s(1.2),
      nginxP50Ms: s(0.25),
      nginxP99Ms: s(1.1),
    },
    driver: {
      autocannonMaxRps: s(10_000),
      autocannonCpuMsPer1k: 30,
      builtinSustainedRps: 11_000,
      builtinCpuMsPer1k: 40,
      scheduleLagP99Ms: 0.4,
      probes: [],
      k6: { version: 'k6 v1.3.0', sustainedRps: 2_000, cpuMsPer1k: 400, probes: [] },
    },
    inference: [{ features: 8, routeSingleUsPerRow: 100, routeBatchUsPerRow: 10 }],
    memory: { monolith: { idleMB: 60, after1MB: 75, after2MB: 76 } },
  } as unknown as PerfResults;
  const byName = Object.fromEntries(checkTargets(r).map((c) => [c.name, c]));
  t.equal(byName['monolith throughput / minimal Fastify']!.met, true);
  t.equal(byName['monolith throughput / bare node:http']!.met, false);
  t.equal(byName['gateway adds at p50 (1000 req/s)']!.measured, '200 µs');
  t.equal(byName['gateway adds at p50 (1000 req/s)']!.met, false);
  t.equal(byName['gateway adds at p99 (1000 req/s)']!.met, true);
  t.equal(byName['request-metrics cost of max throughput']!.measured, '0.03');
  t.equal(byName['built-in driver sustained open-loop / autocannon max']!.met, true);
  t.equal(byName['monolith RSS growth N → 2N']!.met, true);
  t.equal(byName['gateway max throughput / minimal proxy']!.met, true, '0.92 ≥ 0.90');
  t.equal(byName['gateway p50 hop − minimal proxy’s (1000 req/s)']!.measured, '60 µs');
  t.equal(byName['gateway p50 hop − minimal proxy’s (1000 req/s)']!.met, false, '60 µs > 50 µs');
  t.equal(byName['built-in driver sustained open-loop / k6’s, same CPUs']!.measured, '5.5');
  t.equal(byName['built-in driver sustained open-loop / k6’s, same CPUs']!.met, true);
  t.notOk(byName['gateway max throughput / monolith'], 'the monolith-relative gateway target is gone');
  const table = perfTable({
    ...r,
    targets: checkTargets(r),
    runId: 'x',
    settings: { rounds: 1, durationMs: 1000, connections: 8, pinning: 'none' },
    throughput: {},
  } as unknown as PerfResults);
  t.match(table, /\| hop added at p50: our gateway \/ minimal proxy \/ nginx \(µs\) \| 200 \/ 140 \/ 50 \|/);
  t.notMatch(table, /is the Node gateway/, 'no split without nginx’s throughput');
  t.match(
    perfTable({
      ...r,
      targets: [],
      runId: 'x',
      settings: { rounds: 1, durationMs: 1000, connections: 8, pinning: 'none' },
      throughput: { gateway: s(5_000), nginx: s(20_000) },
    } as unknown as PerfResults),
    /Of the 200 µs our gateway adds at p50 \(1000 req\/s\), 50 µs is any hop \(nginx adds that much: 25 %\) and 150 µs is the Node gateway\. At its maximum our gateway passes 5000 req\/s, nginx 20000 req\/s .*\(0\.25×\)/,
  );
  t.match(table, /\| k6 v1\.3\.0: highest rate with no dropped iterations, same CPUs \(req\/s\) \| 2000 /);
  t.match(
    perfTable({
      ...r,
      targets: checkTargets(r),
      runId: 'x',
      settings: { rounds: 1, durationMs: 1000, connections: 8, pinning: 'none' },
      throughput: {},
    } as unknown as PerfResults),
    /\| monolith throughput \/ bare node:http \| 0.6 \| ≥ 0\.70 \| \*\*no\*\* \|/,
  );
});

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
