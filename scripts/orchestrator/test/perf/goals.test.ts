import t from 'tap';
import { checkTargets } from '../../src/perf/goals.js';
import { perfTable } from '../../src/perf/table.js';
import { type PerfResults, spread } from '../../src/perf/types.js';

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
