import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { compareResults, compareSides } from '../../src/compare/compare.js';
import type { CapacityResult, ResultsFile, RunResult } from '../../src/results/index.js';
import { medianOf, seededRandom } from '../../src/stats/bootstrap.js';
import { encodeHistogram, mergeHistograms, newHistogram } from '../../src/stats/histogram.js';
import { summarize } from '../../src/stats/summary.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';

/** One trial of `n` exponential latencies with mean `meanMs`, in 250 ms blocks, as measureRun records it. */
function trial(topology: string, meanMs: number, seed: number, n = 8000): RunResult {
  const random = seededRandom(seed);
  const encoded: string[] = [];
  for (let k = 0; k < 16; k++) {
    const h = newHistogram();
    for (let i = 0; i < n / 16; i++) h.recordValue(Math.max(1, Math.round(-Math.log(1 - random()) * meanMs * 1000)));
    encoded.push(encodeHistogram(h));
  }
  const all = mergeHistograms(encoded);
  const at = (p: number) => Math.round(all.getValueAtPercentile(p)) / 1000;
  const lat = {
    min: 0.001,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: all.maxValue / 1000,
    mean: all.mean / 1000,
  };
  return {
    phase: 'trial',
    topology,
    replicas: 1,
    gateways: topology === 'monolith' ? 0 : 1,
    trial: 1,
    targetRps: 2000,
    achievedRps: 2000,
    valid: true,
    latencyMs: lat,
    latencyHistogram: encodeHistogram(all),
    latencyBlocks: { blockMs: 250, histograms: encoded },
    resources: {
      servers: { cpuSeconds: 1, cpuSecondsPer1kRequests: 0.25, cpuCores: 0.3, rssMaxMB: 60 },
      monolith: { cpuSeconds: 1, cpuSecondsPer1kRequests: 0.25, cpuCores: 0.3, rssMaxMB: 60 },
    },
    errors: { count: 0, rate: 0, byStatus: {}, network: {} },
    failed: { count: 0, rate: 0 },
    hops: {},
    hopCount: 1,
  } as unknown as RunResult;
}

function results(runId: string, runs: RunResult[], capacity: CapacityResult[] = []): ResultsFile {
  return {
    runId,
    machine: { hostname: 'h', platform: 'linux', cpuModel: 'cpu', logicalCpus: 2, memoryGB: 8, gitCommit: runId },
    config: {
      plan: 'quick',
      backend: 'process',
      driver: 'builtin',
      scenario: { name: 'quick', executor: 'constant-arrival-rate', arrival: 'constant' },
      slo: { p99Ms: 25, errorRate: 0.001 },
      pinning: { description: 'none' },
      model: { name: 'm' },
    },
    runs,
    capacity,
    summary: summarize(runs, capacity),
  } as unknown as ResultsFile;
}

const cap = (rateRps: number, failedAtRps: number | null, limitedBy: CapacityResult['limitedBy'] = 'slo') =>
  ({
    topology: 'monolith',
    replicas: 1,
    gateways: 0,
    rateRps,
    failedAtRps,
    limitedBy,
    probes: [],
  }) as unknown as CapacityResult;

const row = (c: ReturnType<typeof compareResults>, metric: string) => c.rows.find((r) => r.metric === metric)!;

t.test('the same distribution twice: no significant change; a 30 % slower one: regressed', async (t) => {
  const a = results('a', [trial('monolith', 1, 1)]);
  const same = results('b', [trial('monolith', 1, 2)]);
  const c = compareResults(a, same, { a: 'a', b: 'b' });
  for (const m of ['p50', 'p99', 'p999']) t.equal(row(c, m).verdict, 'no significant change', m);
  t.equal(c.regressed, 0);
  t.ok(row(c, 'p50').changeCi!.lo < 0 && row(c, 'p50').changeCi!.hi > 0, 'the interval straddles 0');

  const slower = compareResults(a, results('s', [trial('monolith', 1.3, 3)]), { a: 'a', b: 's' });
  for (const m of ['p50', 'p99']) {
    const r = row(slower, m);
    t.equal(r.verdict, 'regressed', `${m} ${r.changePct} % ${JSON.stringify(r.changeCi)}`);
    t.ok(r.changeCi!.lo < 30 && r.changeCi!.hi > 30, `${m}: the interval holds the true +30 %`);
  }
  const faster = compareResults(a, results('f', [trial('monolith', 0.7, 4)]), { a: 'a', b: 'f' });
  t.equal(row(faster, 'p50').verdict, 'improved');
  t.equal(row(faster, 'cpu').verdict, 'not tested', 'CPU with one trial a side: no interval, no verdict');
  t.equal(row(faster, 'rss').verdict, 'no significant change', 'RSS within the ±10 % rule');

  const small = compareResults(
    a,
    results('m', [trial('monolith', 1.03, 5, 200_000)]),
    { a: 'a', b: 'm' },
    { minChangePct: 5 },
  );
  t.equal(row(small, 'p50').verdict, 'no significant change', 'a 3 % shift is below --min-change 5');
});

t.test('known data with every p99 doubled: p99 regressed, nothing else', async (t) => {
  const a = results('a', [trial('monolith', 1, 1)]);
  const b = scaleP99(a, 2) as ResultsFile;
  const c = compareResults(a, b, { a: 'a', b: 'b' });
  t.equal(row(c, 'p99').verdict, 'regressed', JSON.stringify(row(c, 'p99').changeCi));
  t.equal(row(c, 'p99').changePct, 100);
  t.equal(c.regressed, 1, 'p50, p99.9, rate untouched');
});

t.test('repeat sets: run-to-run drift is in the interval', async (t) => {
  // Three runs a side whose level drifts (means 0.8, 1.0, 1.3 ms): a shift that a single
  // pair of runs calls significant is, with the drift resampled, within noise.
  const set = (name: string, means: number[], seed: number, caps: number[]) => ({
    name,
    dirs: means.map((_, i) => `${name}-r${i + 1}`),
    runs: means.map((m, i) =>
      results(`${name}-r${i + 1}`, [trial('monolith', m, seed + i)], [cap(caps[i]!, caps[i]! + 1000)]),
    ),
  });
  const a = set('a', [0.8, 1.0, 1.3], 10, [8000, 9000, 10000]);
  const b = set('b', [1.3, 0.9, 1.1], 20, [9000, 7000, 8000]);
  const pair = compareResults(a.runs[0]!, b.runs[0]!, { a: 'a', b: 'b' });
  t.equal(row(pair, 'p50').verdict, 'regressed', 'one run a side: +60 % is significant');
  const sets = compareSides(a, b);
  t.equal(row(sets, 'p50').verdict, 'no significant change', JSON.stringify(row(sets, 'p50').changeCi));
  t.match(row(sets, 'p50').test, /A: 3 runs, then each run’s blocks or trials/);
  t.equal(
    row(sets, 'p50').a,
    medianOf([0.8, 1.0, 1.3].map((_m, i) => a.runs[i]!.summary[0]!.p50Ms.median)),
    'the side’s figure: the median over its runs',
  );
  t.equal(row(sets, 'capacity').verdict, 'no significant change');
  t.match(row(sets, 'capacity').test, /bootstrap over runs of the median capacity/);
  t.equal(row(sets, 'cpu').verdict, 'no significant change', 'CPU: 3 runs a side are enough for a run-level interval');

  const doubled = set('d', [1.6, 2.0, 2.6], 30, [4000, 4500, 5000]);
  const worse = compareSides(a, doubled);
  t.equal(row(worse, 'p50').verdict, 'regressed', JSON.stringify(row(worse, 'p50').changeCi));
  t.equal(row(worse, 'capacity').verdict, 'regressed');

  const other = set('o', [1, 1, 1], 40, [8000, 8000, 8000]);
  other.runs[1]!.config.plan = 'full';
  t.throws(() => compareSides(a, other), /refusing to compare: plan: quick vs full/, 'a mixed set is refused too');
});

t.test('capacity: disjoint search brackets only', async (t) => {
  const base = [trial('monolith', 1, 1)];
  const verdict = (x: CapacityResult, y: CapacityResult) =>
    row(compareResults(results('a', base, [x]), results('b', base, [y]), { a: 'a', b: 'b' }), 'capacity').verdict;
  t.equal(
    verdict(cap(8000, 9000), cap(5000, 6000)),
    'regressed',
    '[5000, 6000) is below [8000, 9000) by the quick search’s 25 %',
  );
  t.equal(
    verdict(cap(4000, 6000), cap(3500, 4000)),
    'no significant change',
    'disjoint, but within the search’s resolution (measured: same code, two runs)',
  );
  t.equal(verdict(cap(8000, 9000), cap(8000, 10000)), 'no significant change');
  t.equal(verdict(cap(5000, 6000), cap(8000, 9000)), 'improved');
  t.equal(verdict(cap(16000, null, 'search-range'), cap(10000, 12000)), 'regressed', '≥ 16000 vs a failure at 12000');
  t.equal(
    verdict(cap(16000, null, 'load-generator'), cap(12000, 20000, 'load-generator')),
    'no significant change',
    'two floors: no upper ends',
  );
});

t.test('runs that differ in machine, plan, scenario or SLO are refused unless forced', async (t) => {
  const a = results('a', [trial('monolith', 1, 1)]);
  const b = results('b', [trial('monolith', 1, 2)]);
  b.config.plan = 'full';
  b.config.slo.p99Ms = 50;
  t.throws(
    () => compareResults(a, b, { a: 'a', b: 'b' }),
    /refusing to compare: plan: quick vs full; SLO p99 ms: 25 vs 50/,
  );
  const forced = compareResults(a, b, { a: 'a', b: 'b' }, { force: true });
  t.ok(forced.forced);
  t.same(forced.differences.notes, ['commit: a vs b'], 'a new commit is what compare is for: a note, not a refusal');
});

/** Every p99 figure a file measured times `k` (runs, summary spreads and intervals, timelines); not the SLO. */
function scaleP99(x: unknown, factor: number): unknown {
  if (Array.isArray(x)) return x.map((y) => scaleP99(y, factor));
  if (!x || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    const double = (u: unknown): unknown =>
      typeof u === 'number'
        ? u * factor
        : u && typeof u === 'object'
          ? Object.fromEntries(
              Object.entries(u).map(([kk, vv]) => [
                kk,
                kk === 'n' || kk === 'units' || kk === 'level' || typeof vv !== 'number' ? vv : vv * factor,
              ]),
            )
          : u;
    out[k] = k === 'config' ? v : k === 'p99' || k === 'p99Ms' ? double(v) : scaleP99(v, factor);
  }
  return out;
}

t.test('mlbench compare on a recorded run: X vs X, X vs X with p99s doubled, exports, bad input', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-compare-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A recorded run (test/fixtures/results/README.md): 800 req/s for 5 s, both topologies, one trial.
  await cp(join(FIXTURES, 'results', 'steady-800'), join(dir, 'x'), { recursive: true });
  const x = join(dir, 'x');
  const res = JSON.parse(await readFile(join(x, 'results.json'), 'utf8')) as ResultsFile;
  t.ok(
    res.summary.every((r) => r.p99Ms.ci?.method === 'bootstrap-blocks'),
    'every headline p99 carries its interval',
  );
  t.ok(res.runs.filter((r) => r.phase === 'trial').every((r) => (r.latencyBlocks?.histograms.length ?? 0) >= 8));

  const same = await runCli(['compare', x, x, '--fail-on', 'regression']);
  t.equal(same.code, 0, same.err);
  t.match(same.out, /0 regressed, 0 improved/);
  t.match(same.out, /\| monolith×1 @ 800 req\/s \| p99 ms \| .* \| no significant change \|/);
  t.ok(existsSync(join(dir, 'compare', 'x-vs-x.html')), 'compare.html beside the runs');

  const y = join(dir, 'y');
  await cp(x, y, { recursive: true });
  await writeFile(join(y, 'results.json'), JSON.stringify(scaleP99(res, 10)));
  const junit = join(dir, 'ci', 'junit.xml');
  const doubled = await runCli([
    'compare',
    x,
    y,
    '--fail-on',
    'regression',
    '--junit',
    junit,
    '--csv',
    join(dir, 'csv'),
    '--html',
    join(dir, 'c.html'),
  ]);
  t.equal(doubled.code, 1, `a regression with --fail-on regression: exit 1 ${doubled.err}`);
  // ×10, not ×2: a p99 made by one burst (one 250 ms block) of a 5-second run has an
  // interval too wide to call a doubling (measured: −29 … +460 %), and this test is about the
  // command, not this machine's noise; ×2 is judged on known data above.
  for (const config of ['monolith×1', 'microservices×1'])
    t.match(
      doubled.out,
      new RegExp(
        `\\| ${config} @ 800 req/s \\| p99 ms \\| [\\d.]+ \\| [\\d.]+ \\| \\+900\\.0 % \\| \\[\\+[\\d.]+ %, \\+[\\d.]+ %\\] \\| REGRESSED \\|`,
      ),
    );
  const regressed = 2;
  t.match(doubled.out, /\| monolith×1 @ 800 req\/s \| p50 ms \| .* \| no significant change \|/, 'p50 untouched');
  const xml = await readFile(junit, 'utf8');
  t.match(xml, /<testcase classname="mlbench\.monolith×1" name="p99 ≤ 25 ms @ 800 req\/s">/);
  t.match(xml, /name="p99 no regression vs x @ 800 req\/s"><failure message="p99 /);
  t.equal(
    [...xml.matchAll(/name="[^"]+ no regression vs x [^"]+"><failure/g)].length,
    regressed,
    'each regressed p99 fails its "no regression" case',
  );
  const p99Slo = [...xml.matchAll(/name="p99 ≤ 25 ms @ 800 req\/s">(<failure)?/g)];
  t.equal(p99Slo.length, 2, 'an SLO case per configuration');
  const runsCsv = (await readFile(join(dir, 'csv', 'runs.csv'), 'utf8')).trim().split('\n');
  t.equal(runsCsv.length, 1 + 2 * res.runs.length, 'a header and every run of A and B');
  t.match(runsCsv[0], /^side,runId,phase,topology,replicas,gateways,trial,targetRps,achievedRps,p50Ms,p99Ms/);
  t.match(await readFile(join(dir, 'csv', 'compare.csv'), 'utf8'), /\nmicroservices×1,800,p99,ms,[\d.]+,[\d.]+,900,/);
  const html = await readFile(join(dir, 'c.html'), 'utf8');
  t.match(html, /<svg/);
  t.match(html, /Spectrum monolith×1 @ 800/);
  t.notMatch(html, /<script/, 'self-contained: no scripts');

  const json = await runCli(['compare', x, y, '--json', '--metric', 'p99', '--no-html']);
  t.equal(json.code, 0, 'without --fail-on a regression is reported, exit 0');
  const parsed = JSON.parse(json.out);
  t.same([...new Set(parsed.rows.map((r: { metric: string }) => r.metric))], ['p99']);
  t.equal(
    parsed.rows.filter((r: { verdict: string }) => r.verdict === 'regressed').length,
    regressed,
    'JSON says what the table says',
  );

  const z = join(dir, 'z');
  await cp(x, z, { recursive: true });
  await writeFile(join(z, 'results.json'), JSON.stringify({ ...res, config: { ...res.config, plan: 'full' } }));
  const refused = await runCli(['compare', x, z]);
  t.equal(refused.code, 2);
  t.match(refused.err, /^mlbench: refusing to compare: plan: quick vs full \(--force/);
  t.equal(refused.err.trim().split('\n').length, 1, 'one line');
  const forced = await runCli(['compare', x, z, '--force', '--no-html']);
  t.equal(forced.code, 0, forced.err);
  t.match(forced.out, /--force: comparing although plan: quick vs full/);

  for (const [args, why] of [
    [['compare', x, join(dir, 'missing')], /^mlbench: cannot read .*missing\/results\.json \(ENOENT\)/],
    [['compare', x, x, '--metric', 'p42'], /^mlbench: unknown metric p42; choose from p50, p99/],
    [['compare', x, x, '--fail-on', 'anything'], /^mlbench: .*Allowed choices are regression/],
    [['compare', x, x, '--level', '2'], /^mlbench: .*--level must be between/],
  ] as const) {
    const r = await runCli([...args]);
    t.equal(r.code, 2, `${args.slice(3).join(' ')}: exit 2`);
    t.match(r.err, why);
  }
});
