// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { checkDeploymentFile, loadDeploymentFile } from '../../src/backends/deployment-file.js';
import { runCli } from '../helpers/cli.js';
import { processesOfRun, spawnCliUntilDeployed } from '../helpers/servers.js';

/**
 * A server this test writes (the command backend must not know it): one program for every
 * role. With --upstreams it forwards /predict to them in turn (a gateway); without, it
 * answers the sum of the features (a model). It names itself in x-served-by.
 */
const SERVER = `
import http from 'node:http';
const arg = (k) => { const i = process.argv.indexOf('--' + k); return i < 0 ? undefined : process.argv[i + 1]; };
const ups = (arg('upstreams') || '').split(',').filter(Boolean);
let next = 0;
const me = process.env.WHO + '-' + arg('replica');
http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url !== '/predict' || req.method !== 'POST') { res.writeHead(404).end(); return; }
    if (ups.length) {
      const u = new URL('/predict', ups[next++ % ups.length]);
      const f = http.request(u, { method: 'POST', headers: { 'content-type': 'application/json' } }, (r) => {
        let out = '';
        r.on('data', (c) => (out += c));
        r.on('end', () => res.writeHead(r.statusCode, { 'content-type': 'application/json', 'x-served-by': r.headers['x-served-by'] }).end(out));
      });
      f.on('error', () => res.writeHead(502).end());
      f.end(body);
      return;
    }
    const { features } = JSON.parse(body);
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': me }).end(JSON.stringify({ prediction: features.reduce((a, b) => a + b, 0) }));
  });
}).listen(Number(arg('port')), arg('host'));
`;

async function fixture(t: { teardown(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-command-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'tiny.mjs'), SERVER);
  const svc = (who: string, extra: string[] = []) =>
    `    command: [${JSON.stringify(process.execPath)}, tiny.mjs, --host, '{host}', --port, '{port}', --replica, '{replica}'${extra.map((e) => `, '${e}'`).join('')}]\n    env: { WHO: ${who} }`;
  await writeFile(
    join(dir, 'tiny.yaml'),
    [
      'name: tiny-node',
      'monolith:',
      '  monolith:',
      svc('mono'),
      'microservices:',
      '  prediction:',
      svc('pred'),
      '  gateway:',
      svc('gw', ['--upstreams', '{upstreams}']),
      '',
    ].join('\n'),
  );
  const scenario = join(dir, 'short.json');
  await writeFile(
    scenario,
    JSON.stringify({ executor: 'constant-arrival-rate', rate: 400, duration: '2s', warmup: '1s' }),
  );
  return { dir, file: join(dir, 'tiny.yaml'), scenario };
}

t.test('a deployment the tool did not ship: started, scaled, measured, stopped', async (t) => {
  const { dir, file, scenario } = await fixture(t);
  const runId = `cmd-${process.pid}`;
  const r = await runCli([
    'bench',
    '--backend',
    'command',
    '--deployment',
    file,
    '--scenario',
    scenario,
    '--replicas',
    '2',
    '--no-capacity',
    '--trials',
    '1',
    '--run-id',
    runId,
    '--out',
    dir,
  ]);
  t.equal(r.code, 0, r.err.slice(-800));
  const res = JSON.parse(await readFile(join(dir, runId, 'results.json'), 'utf8'));
  t.equal(res.config.backend, 'command');
  t.equal(res.config.implementation, 'tiny-node', 'the deployment file names the implementation');
  const trials = res.runs.filter((x: { phase: string }) => x.phase === 'trial');
  t.same(trials.map((x: { topology: string }) => x.topology).sort(), ['microservices', 'monolith']);
  for (const x of trials) {
    t.equal(x.implementation, 'tiny-node');
    t.equal(x.errors.count, 0, `${x.topology}: no errors`);
    t.ok(x.requests >= 700, `${x.topology}: ${x.requests} requests`);
    t.ok(x.resources.servers.cpuSeconds > 0, `${x.topology}: CPU sampled from /proc`);
  }
  const mono = trials.find((x: { topology: string }) => x.topology === 'monolith');
  const micro = trials.find((x: { topology: string }) => x.topology === 'microservices');
  t.same(
    Object.keys(mono.resources)
      .filter((k) => k.startsWith('monolith'))
      .sort(),
    ['monolith-1', 'monolith-2'],
    'scaled: two monolith replicas',
  );
  t.same(
    Object.keys(micro.resources)
      .filter((k) => k !== 'driver' && k !== 'servers')
      .sort(),
    ['gateway-1', 'prediction-1', 'prediction-2'],
  );
  t.ok(
    Object.keys(mono.servedBy).length === 2 && Object.keys(micro.servedBy).length === 2,
    `both replicas served: ${JSON.stringify(mono.servedBy)} ${JSON.stringify(micro.servedBy)}`,
  );
  t.match(mono.entrySpreading, /no active checks/, 'no health path: said so');
  t.same(processesOfRun(runId), [], 'nothing left running');
});

t.test('Ctrl-C, and a killed mlbench: no process of the deployment survives', async (t) => {
  const { dir, file } = await fixture(t);
  const long = join(dir, 'long.json');
  await writeFile(long, JSON.stringify({ executor: 'constant-arrival-rate', rate: 50, duration: '60s', warmup: '0s' }));
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    const runId = `cmd-${signal}-${process.pid}`;
    const run = await spawnCliUntilDeployed([
      'bench',
      '--backend',
      'command',
      '--deployment',
      file,
      '--scenario',
      long,
      '--replicas',
      '2',
      '--no-capacity',
      '--run-id',
      runId,
      '--out',
      dir,
    ]);
    const { child, exited } = run;
    const stderr = run.stderr();
    t.match(stderr, /deployed/, `${signal}: deployed`);
    await sleep(500);
    t.ok(
      processesOfRun(runId).length >= 5,
      `${signal}: 2 monolith + 1 gateway + 2 prediction replicas up (and the driver)`,
    );
    child.kill(signal);
    const code = await exited;
    if (signal === 'SIGINT') t.equal(code, 130);
    const gone = Date.now() + 5000;
    while (processesOfRun(runId).length && Date.now() < gone) await sleep(100);
    t.same(processesOfRun(runId), [], `${signal}: no process of the run is left`);
  }
});

t.test('deployment files: errors name the field, nothing starts', async (t) => {
  const { dir, file, scenario } = await fixture(t);
  const base = { monolith: { monolith: { command: ['x', '--port', '{port}'] } } };
  t.throws(() => checkDeploymentFile({ ...base, extra: 1 }, 'f.yaml'), /^f\.yaml: extra: Unexpected property/);
  t.throws(
    () => checkDeploymentFile({ monolith: { monolith: { command: [] } } }, 'f.yaml'),
    /^f\.yaml: monolith\.monolith\.command: Expected array length to be greater or equal to 1/,
  );
  t.throws(
    () => checkDeploymentFile({ monolith: { monolith: { command: ['x', '{prot}'] } } }, 'f.yaml'),
    /^f\.yaml: monolith\.monolith\.command\.1: unknown placeholder \{prot\}; known: \{port\}/,
  );
  t.throws(() => checkDeploymentFile({}, 'f.yaml'), /describes neither monolith nor microservices/);
  t.throws(
    () =>
      checkDeploymentFile({ microservices: { gateway: { command: ['g'] }, prediction: { command: ['p'] } } }, 'f.yaml'),
    /nothing uses \{upstreams\}/,
  );
  t.throws(() => checkDeploymentFile({ ...base, startTimeout: 'soon' }, 'f.yaml'), /^f\.yaml: startTimeout: /);
  t.equal((await loadDeploymentFile(file)).implementation, 'tiny-node');
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'monolith: [unclosed');
  await t.rejects(loadDeploymentFile(bad), /bad\.yaml is not valid YAML/);
  const missingProgram = join(dir, 'missing.yaml');
  await writeFile(missingProgram, 'monolith:\n  monolith:\n    command: [no-such-program-xyz, --port, "{port}"]\n');
  for (const [args, why] of [
    [
      ['--deployment', missingProgram],
      /missing\.yaml: monolith\.monolith\.command\.0: no-such-program-xyz is not on PATH/,
    ],
    [
      ['--deployment', missingProgram, '--topology', 'microservices'],
      /describes no microservices \(use --topology monolith\)/,
    ],
    [[], /--backend command needs --deployment FILE/],
    [['--deployment', join(dir, 'nope.yaml')], /cannot read deployment file .*nope\.yaml \(ENOENT\)/],
  ] as const) {
    const r = await runCli([
      'bench',
      '--backend',
      'command',
      '--scenario',
      scenario,
      '--no-capacity',
      '--out',
      dir,
      ...args,
    ]);
    t.not(r.code, 0);
    t.match(r.err, why);
    t.equal(r.err.trim().split('\n').length, 1, 'one line');
  }
  const stray = await runCli(['bench', '--deployment', file, '--no-capacity', '--out', dir]);
  t.match(stray.err, /--deployment is for --backend command/);
});
