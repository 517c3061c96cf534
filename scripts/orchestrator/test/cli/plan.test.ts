import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ResultsFile } from '../../src/results/index.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';

t.test('mlbench plan and plan --validate on a recorded run; bad input exits 2 with one line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-plan-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A recorded quick run (test/fixtures/results/README.md): its short capacity searches give
  // the fit several rates and the validation a capacity.
  const x = join(dir, 'x');
  await cp(join(FIXTURES, 'results', 'quick'), x, { recursive: true });
  const res = JSON.parse(await readFile(join(x, 'results.json'), 'utf8')) as ResultsFile;
  const trial = res.runs.find((r) => r.phase === 'trial' && r.topology === 'microservices')!;
  for (const hop of ['gateway', 'prediction']) {
    const b = trial.hops[hop]!.bucketsMs!;
    t.ok(
      b.length > 10 && b.every((e, i) => i === 0 || e[0] > b[i - 1]![0]),
      `${hop}: its histogram's buckets, ascending`,
    );
    t.ok(b[b.length - 1]![1] <= trial.hops[hop]!.requests, 'cumulative, bounded by its count');
  }

  const plan = await runCli(['plan', x, '--rate', '50000', '--slo-ms', '50', '--json']);
  t.equal(plan.code, 0, plan.err);
  const p = JSON.parse(plan.out);
  for (const topo of ['monolith', 'microservices']) {
    const q = p[topo];
    t.ok(q.feasible, `${topo} has a plan`);
    t.ok(q.replicas >= 1 && Number.isFinite(q.costPerHour) && q.costPerHour > 0, `${topo}: replicas and $/h`);
    t.ok(q.p99Ms > 0 && q.p99Ms <= 50, `${topo}: predicted p99 ${q.p99Ms} within the SLO`);
    t.ok(q.cores >= q.replicas && q.memoryGB > 0, `${topo}: cores and memory held`);
    t.ok(q.costPerMillion > 0, `${topo}: per million predictions`);
  }
  t.ok(p.microservices.gateways >= 1, 'gateways sized');
  t.ok(
    ['monolith', 'microservices'].includes(p.cheaper.topology) && p.cheaper.byPct >= 0,
    'the cheaper one and by how much',
  );
  t.ok(p.assumptions.length >= 6, 'assumptions stated');
  t.notMatch(plan.out, /null,|NaN/, 'no null or NaN where a number belongs');

  // More load, more replicas; a round trip per hop costs latency.
  const more = JSON.parse((await runCli(['plan', x, '--rate', '500000', '--slo-ms', '50', '--json'])).out);
  t.ok(more.monolith.replicas > p.monolith.replicas, '10× the rate: more monolith replicas');
  const far = JSON.parse(
    (await runCli(['plan', x, '--rate', '50000', '--slo-ms', '50', '--rtt-ms', '5', '--json'])).out,
  );
  t.ok(far.microservices.p50Ms > p.microservices.p50Ms + 9, 'two hops of 5 ms round trip on the microservices');

  const text = await runCli(['plan', x, '--rate', '50000', '--slo-ms', '50']);
  t.equal(text.code, 0);
  t.match(text.out, /To serve 50000 req\/s at p99 ≤ 50 ms/);
  t.match(text.out, /Cheaper: (monolith|microservices), by/);
  t.match(text.out, /gateway ×\d+ \+ prediction ×\d+/);
  t.match(text.out, /Assumptions:/);

  const v = await runCli(['plan', '--validate', x, '--json']);
  t.equal(v.code, 0, v.err);
  const val = JSON.parse(v.out);
  t.equal(val.capacity.length, 2, 'a capacity check per configuration measured');
  for (const c of val.capacity) t.ok(c.predictedRps > 0, `${c.topology}: predicted ${c.predictedRps} req/s`);
  t.ok(
    val.latency.some((l: { at: string }) => l.at === 'probe'),
    'p99 at a capacity probe',
  );
  const vt = await runCli(['plan', '--validate', x]);
  t.match(vt.out, /Capacity at the SLO:/);
  t.match(vt.out, /p99 at a measured rate:/);

  const rendered = await runCli(['report', x]);
  t.equal(rendered.code, 0, rendered.err);
  const report = await readFile(join(x, 'report.md'), 'utf8');
  t.match(report, /## Planning beyond this machine/);
  t.match(report, /capacity predicted/);
  const html = await readFile(join(x, 'report.html'), 'utf8');
  t.match(html, /Cost per hour to serve a rate at the SLO/, 'the cost chart');

  // Bad input: one line, exit 2, nothing else printed on stdout.
  const badPrices = join(dir, 'prices.json');
  await writeFile(badPrices, JSON.stringify({ name: 'x', source: 'y', currency: 'USD', vcpuHour: -1, gbHour: 0 }));
  for (const [args, why] of [
    [['plan', x, '--slo-ms', '50'], /needs --rate and --slo-ms/],
    [['plan', x, '--rate', '-5', '--slo-ms', '50'], /--rate must be a positive number/],
    [
      ['plan', x, '--rate', '100', '--slo-ms', '50', '--cores-per-replica', '0'],
      /--cores-per-replica must be an integer/,
    ],
    [['plan', join(dir, 'nope'), '--rate', '100', '--slo-ms', '50'], /nope/],
    [['plan', x, '--rate', '100', '--slo-ms', '50', '--prices', badPrices], /prices\.json: \/(vcpuHour|memory)/],
    [['plan', x, '--rate', '100', '--slo-ms', '50', '--arrival', 'bursty'], /arrival/],
  ] as [string[], RegExp][]) {
    const r = await runCli(args);
    t.equal(r.code, 2, `${args.slice(2).join(' ')}: exit 2`);
    t.match(r.err, why);
    t.equal(r.err.trim().split('\n').length <= 2, true, 'a line (and the usage hint)');
    t.equal(r.out, '', 'nothing on stdout');
  }
  // An SLO under what the services answer at no load: said, not a plan.
  const tight = JSON.parse((await runCli(['plan', x, '--rate', '1000', '--slo-ms', '0.01', '--json'])).out);
  t.notOk(tight.monolith.feasible);
  t.match(tight.monolith.reason, /over the 0\.01 ms SLO/);
});
