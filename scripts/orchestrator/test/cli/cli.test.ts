// test: as-user (the CLI's refusals, in process: CI checks them as an ordinary user too)
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkResults, type ResultsFile, SCHEMA_VERSION } from '../../src/results/index.js';
import { describeMachine } from '../../src/sys/machine.js';
import { runCli } from '../helpers/cli.js';

const sigintBefore = process.listenerCount('SIGINT');
const { buildCli } = await import('../../src/cli/index.js');

function minimalResults(): ResultsFile {
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: 'test-run',
    status: 'complete',
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    config: {
      plan: 'quick',
      backend: 'process',
      driver: 'builtin',
      topologies: ['monolith'],
      replicas: [1],
      trials: 1,
      interleaving: 'A B',
      scenario: { name: 'quick', executor: 'constant-arrival-rate', arrival: 'constant' },
      slo: { p99Ms: 25, errorRate: 0.001 },
      capacitySearch: null,
      fault: null,
      sweep: null,
      pinning: { description: 'not pinned' },
      minDurationMs: 1000,
      model: { path: 'm.json', name: 'linear', version: 'v1', features: 8 },
    },
    runs: [],
    capacity: [],
    summary: [],
  };
}

t.test('importing the CLI starts nothing: no signal handlers, no exit', async (t) => {
  t.equal(process.listenerCount('SIGINT'), sigintBefore);
  const program = buildCli({ out: () => {}, err: () => {} });
  t.same(
    program.commands.map((c) => c.name()),
    ['train', 'dataset', 'models', 'bench', 'perf', 'report', 'compare', 'plan', 'up', 'down'],
  );
});

t.test('help and usage errors, in process', async (t) => {
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.out, /Usage: mlbench/);
  const benchHelp = await runCli(['bench', '--help']);
  t.equal(benchHelp.code, 0);
  t.match(benchHelp.out, /--backend <b>[\s\S]*"process",\s*"docker",\s*"swarm"/);
  for (const [args, re] of [
    [['bench', '--replicas', '0'], /^mlbench: .*replicas must be/],
    [['bench', '--topology', 'mesh'], /^mlbench: .*Allowed choices are monolith, microservices, both/],
    [['frobnicate'], /^mlbench: unknown command 'frobnicate'/],
    [['bench', '--run-id', '../x'], /^mlbench: --run-id may only contain/],
  ] as [string[], RegExp][]) {
    const r = await runCli(args);
    t.not(r.code, 0, args.join(' '));
    t.match(r.err.split('\n')[0], re, args.join(' '));
  }
  t.equal(process.listenerCount('SIGINT'), sigintBefore, 'no handler left behind by a refused bench');
});

t.test('train writes an artifact; report reads results through the schema', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const model = join(dir, 'm.json');
  const trained = await runCli(['train', '--features', '3', '--out', model]);
  t.equal(trained.code, 0, trained.err);
  t.ok(existsSync(model));
  t.equal(JSON.parse(await readFile(model, 'utf8')).featureNames.length, 3);
  const again = await runCli(['train', '--features', '3', '--out', model]);
  t.equal(again.code, 1, 'an existing artifact is not replaced without --force');

  const good = join(dir, 'good');
  await mkdir(good);
  await writeFile(join(good, 'results.json'), JSON.stringify(minimalResults()));
  const report = await runCli(['report', good]);
  t.equal(report.code, 0, report.err);
  t.ok(existsSync(join(good, 'report.html')));

  const bad = join(dir, 'bad');
  await mkdir(bad);
  const broken = minimalResults() as unknown as Record<string, any>;
  broken.config.slo.p99Ms = 'fast';
  await writeFile(join(bad, 'results.json'), JSON.stringify(broken));
  const refused = await runCli(['report', bad]);
  t.equal(refused.code, 1);
  t.match(refused.err, /^mlbench: .*results\.json does not match the results schema at config\.slo\.p99Ms/);
  t.notOk(existsSync(join(bad, 'report.html')), 'nothing written from a bad file');
});

t.test('the results schema: a clear field, and old names read under new ones', async (t) => {
  t.throws(() => checkResults({ schemaVersion: 99 }), /schemaVersion 99; this mlbench reads 1/);
  const missing = minimalResults() as unknown as Record<string, unknown>;
  delete missing.runs;
  t.throws(() => checkResults(missing), /at runs: .*\(got missing\)/);
  const lat = { min: 0.1, p50: 0.3, p90: 0.5, p99: 1, p999: 2, max: 3, mean: 0.35 };
  const run = {
    phase: 'trial',
    topology: 'monolith',
    backend: 'process',
    driver: 'builtin',
    replicas: 1,
    scenario: 'quick',
    trial: 1,
    features: 8,
    batchSize: 1,
    targetRps: 500,
    achievedRps: 499,
    durationS: 2,
    requests: 1000,
    ok: 1000,
    errors: { count: 0, rate: 0, byStatus: {}, network: {} },
    dropped: 0,
    latencyMs: lat,
    serviceTimeMs: lat,
    scheduleLagMs: lat,
    latencyHistogram: '',
    hops: {},
    hopCount: 1,
    entrySpreading: 'round robin',
    resources: {},
    servedBy: {},
    timeline: [],
    driverStartEpochMs: 0,
    windowLatencyMs: {},
    clientRetries: 0,
    valid: true,
    invalidReasons: [],
    trustworthyPercentiles: ['p50', 'p99'],
    driverSaturated: true,
    sloMet: true,
    startedAt: new Date().toISOString(),
  };
  const old = { ...minimalResults(), runs: [run] };
  const read = checkResults(JSON.parse(JSON.stringify(old)));
  t.equal(read.runs[0]!.driverLate, true, 'driverSaturated (before the rename) is read as driverLate');
  const { driverSaturated: _, ...neither } = run;
  t.throws(() => checkResults({ ...minimalResults(), runs: [neither] }), /at runs\.0\.driverLate/);
});

t.test('bad flags and unreadable scenarios: one line, non-zero exit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-cli-'));
  const badJson = join(dir, 'bad.json');
  await writeFile(badJson, '{"executor": "constant-arrival-rate",');
  const badShape = join(dir, 'shape.json');
  await writeFile(badShape, JSON.stringify({ executor: 'constant-arrival-rate', rate: -5, duration: '1s' }));
  const noRate = join(dir, 'norate.json');
  await writeFile(noRate, JSON.stringify({ executor: 'constant-arrival-rate', duration: '1s' }));
  const badDuration = join(dir, 'dur.json');
  await writeFile(badDuration, JSON.stringify({ executor: 'constant-arrival-rate', rate: 5, duration: 'soon' }));
  const cases: [string[], RegExp][] = [
    [['bench', '--replicas', 'two'], /replicas must be a comma-separated list/],
    [['bench', '--replicas', '0'], /replicas must be/],
    [['bench', '--trials', '1.5'], /--trials must be an integer/],
    [['bench', '--topology', 'mesh'], /Allowed choices are monolith, microservices, both/],
    [['bench', '--bogus'], /unknown option '--bogus'/],
    [['bench', '--scenario', join(dir, 'missing.json')], /cannot read scenario .*missing\.json \(ENOENT\)/],
    [['bench', '--scenario', badJson], /is not valid JSON/],
    [['bench', '--scenario', badShape], /scenario shape: \/rate/],
    [['bench', '--scenario', noRate], /constant-arrival-rate needs "rate"/],
    [['bench', '--scenario', badDuration], /duration: "soon" is not a duration/],
    [['bench', '--pin', 'left'], /--pin must be auto, off or DRIVER_CPUS:SERVER_CPUS/],
    [['bench', '--run-id', '../escape'], /--run-id may only contain/],
    [['report', join(dir, 'nothing')], /cannot read .*results\.json \(ENOENT\)/],
    [['train', '--features', '0'], /--features must be an integer from 1/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    // --plan, the preset flag's first name, is still read.
    [['bench', '--plan', 'mesh'], /--plan <name>.*Allowed choices are quick, full, sweep/],
    [['bench', '--preset', 'mesh'], /--preset <name>.*Allowed choices are quick, full, sweep/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    t.not(r.code, 0, `${args.join(' ')}: non-zero exit`);
    const firstLine = r.err.trim().split('\n')[0] ?? '';
    t.match(firstLine, re, `${args.join(' ')}: ${firstLine}`);
    t.match(firstLine, /^mlbench: /, 'prefixed with the command name');
  }
  t.equal((await runCli(['bench', '--help'])).code, 0, '--help exits 0');
  t.equal((await runCli(['--help'])).code, 0);
});
