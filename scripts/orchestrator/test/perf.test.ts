import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { perfTable } from '../src/perf/table.js';
import { checkTargets } from '../src/perf/targets.js';
import { type PerfResults, spread } from '../src/perf/types.js';
import { CLI, processesOfRun } from './helpers.js';

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
    },
    gatewayHop: { rateRps: 1000, directP50Ms: s(0.2), gatewayP50Ms: s(0.4), directP99Ms: s(1), gatewayP99Ms: s(1.5) },
    driver: {
      autocannonMaxRps: s(10_000),
      autocannonCpuMsPer1k: 30,
      builtinSustainedRps: 11_000,
      builtinCpuMsPer1k: 40,
      scheduleLagP99Ms: 0.4,
      probes: [],
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
