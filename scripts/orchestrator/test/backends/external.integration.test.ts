import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { pidAlive } from '../../src/sys/child.js';
import { runCli } from '../helpers/cli.js';
import { CLI } from '../helpers/servers.js';

interface Up {
  child: ChildProcess;
  components: { name: string; url: string; pid: number }[];
}

/** `mlbench up` in a directory of its own (its state file is per directory), until it prints its entry. */
async function up(t: { teardown(fn: () => unknown): void }, topology: string, replicas: number): Promise<Up> {
  const cwd = await mkdtemp(join(tmpdir(), 'mlbench-up-'));
  const child = spawn(process.execPath, [CLI, 'up', '--topology', topology, '--replicas', String(replicas)], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    child.kill('SIGINT');
    await exited;
    await rm(cwd, { recursive: true, force: true });
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const deadline = Date.now() + 30_000;
  while (!/^entry:/m.test(out) && Date.now() < deadline) await sleep(100);
  const components = [...out.matchAll(/^(\S+)\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(pid (\d+)\)/gm)].map((m) => ({
    name: m[1]!,
    url: m[2]!,
    pid: Number(m[3]),
  }));
  return { child, components };
}

t.test('--backend external measures what `mlbench up` started, and leaves it running', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-external-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [micro, mono] = await Promise.all([up(t, 'microservices', 2), up(t, 'monolith', 1)]);
  t.equal(micro.components.length, 3, 'gateway and two prediction replicas up');
  t.equal(mono.components.length, 1);
  const of = (u: Up, prefix: string) => u.components.filter((c) => c.name.startsWith(prefix));
  const at = (cs: Up['components'], withUrl: boolean) =>
    cs.map((c) => ({ ...(withUrl ? { url: c.url } : {}), metrics: c.url, pid: c.pid }));
  const file = join(dir, 'theirs.json');
  await writeFile(
    file,
    JSON.stringify({
      health: '/readyz',
      monolith: { monolith: { at: at(of(mono, 'monolith'), true) } },
      microservices: {
        gateway: { at: at(of(micro, 'gateway'), true) },
        prediction: { at: at(of(micro, 'prediction'), false) },
      },
    }),
  );
  const scenario = join(dir, 'short.json');
  await writeFile(
    scenario,
    JSON.stringify({ executor: 'constant-arrival-rate', rate: 300, duration: '2s', warmup: '1s' }),
  );
  const r = await runCli([
    'bench',
    '--backend',
    'external',
    '--deployment',
    file,
    '--scenario',
    scenario,
    '--no-capacity',
    '--run-id',
    'ext',
    '--out',
    dir,
  ]);
  t.equal(r.code, 0, r.err.slice(-800));
  const res = JSON.parse(await readFile(join(dir, 'ext', 'results.json'), 'utf8'));
  t.equal(res.config.implementation, 'theirs');
  const trials = res.runs.filter((x: { phase: string }) => x.phase === 'trial');
  const m = trials.find((x: { topology: string }) => x.topology === 'microservices');
  t.equal(m.replicas, 2, 'the stated count: the prediction replicas listed');
  t.equal(m.errors.count, 0);
  t.ok(m.hops.gateway?.requests > 0 && m.hops.prediction?.requests > 0, 'per-hop time from their /metrics');
  t.ok(m.resources['prediction-2']?.cpuSeconds > 0, 'CPU of a replica from its PID');
  t.match(m.entrySpreading, /running already; stated, not scaled/);
  for (const c of [...micro.components, ...mono.components])
    t.ok(pidAlive(c.pid), `${c.name} still running: not ours to stop`);

  const short = await runCli([
    'bench',
    '--backend',
    'external',
    '--target',
    `monolith=${of(mono, 'monolith')[0]!.url}`,
    '--topology',
    'monolith',
    '--scenario',
    scenario,
    '--no-capacity',
    '--run-id',
    'tgt',
    '--out',
    dir,
  ]);
  t.equal(short.code, 0, short.err.slice(-500));
  const tgt = JSON.parse(await readFile(join(dir, 'tgt', 'results.json'), 'utf8'));
  const run = tgt.runs.find((x: { phase: string }) => x.phase === 'trial');
  t.equal(run.implementation, 'external');
  t.ok(run.requests >= 500 && run.errors.count === 0, 'load through --target alone');
  t.same(
    Object.keys(run.resources).filter((k) => k.startsWith('monolith')),
    [],
    'no PID given: no CPU claimed for it',
  );

  for (const [args, why] of [
    [
      ['--target', 'monolith=http://10.9.8.7:5000', '--topology', 'monolith'],
      /not on this machine; pass --allow-remote/,
    ],
    [['--target', 'monolith=ftp://x'], /--target monolith=ftp:\/\/x: ftp:\/\/x is not an http\(s\):\/\/host:port URL/],
    [
      ['--target', `monolith=${of(mono, 'monolith')[0]!.url}`],
      /no --target microservices=URL \(use --topology monolith/,
    ],
    [[], /--backend external needs --target topology=URL\[,URL…\] or --deployment FILE/],
    [
      ['--target', 'monolith=http://127.0.0.1:9', '--topology', 'monolith', '--replicas', '1,2'],
      /scales nothing: give one --replicas/,
    ],
  ] as const) {
    const x = await runCli([
      'bench',
      '--backend',
      'external',
      '--scenario',
      scenario,
      '--no-capacity',
      '--out',
      dir,
      ...args,
    ]);
    t.not(x.code, 0);
    t.match(x.err, why);
  }
  const dead = await runCli([
    'bench',
    '--backend',
    'external',
    '--target',
    'monolith=http://127.0.0.1:9',
    '--topology',
    'monolith',
    '--scenario',
    scenario,
    '--no-capacity',
    '--out',
    dir,
  ]);
  t.not(dead.code, 0);
  t.match(dead.err, /http:\/\/127\.0\.0\.1:9 does not answer .*is the deployment running\?/);
});
