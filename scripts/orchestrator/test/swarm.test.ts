import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { request } from 'undici';
import { imageOf } from '../src/backends/compose.js';
import { BENCH_PROJECT_PREFIX } from '../src/backends/docker.js';
import { freePort } from '../src/backends/ports.js';
import { deploySwarm, STACK } from '../src/backends/swarm.js';
import type { ResultsFile } from '../src/results.js';
import { docker, engineAvailable, script, servedBy } from './docker-helpers.js';
import { CLI } from './helpers.js';

/**
 * The Swarm backend on a real engine: a single-node swarm (made here if there is none, and
 * left again at the end), the stack files through scripts/docker/swarm.sh, scaling through
 * service updates, a bench, Ctrl-C, and nothing left behind. Mandatory under CI=true.
 */
const run = promisify(execFile);
t.setTimeout(900_000);

const skip = await engineAvailable();
if (skip && process.env.CI === 'true') throw new Error(`CI=true requires the Swarm test: ${skip}`);

const swarmState = async () => ((await docker.info()) as { Swarm: { LocalNodeState: string } }).Swarm.LocalNodeState;

/** Services, containers and networks of stacks whose name starts with prefix. */
async function leftovers(prefix: string) {
  const mine = (labels: Record<string, string> | undefined) => labels?.[STACK]?.startsWith(prefix) ?? false;
  const filters = { label: [STACK] };
  const services = (await docker.listServices({ filters }).catch(() => [])).filter((s) => mine(s.Spec?.Labels));
  const containers = (await docker.listContainers({ all: true, filters })).filter((c) => mine(c.Labels));
  const networks = (await docker.listNetworks({ filters })).filter((n) => mine(n.Labels));
  return [
    ...services.map((s) => `service ${s.Spec?.Name}`),
    ...containers.map((c) => `container ${c.Names[0]}`),
    ...networks.map((n) => `network ${n.Name}`),
  ];
}

t.test('Swarm backend on a real engine', { skip, timeout: 900_000 }, async (t) => {
  const images = await Promise.all(
    ['monolith', 'prediction', 'gateway'].map((s) =>
      docker
        .getImage(imageOf(s))
        .inspect()
        .then(
          () => true,
          () => false,
        ),
    ),
  );
  // docker.test.ts builds them first when the suite runs in order; alone, this file builds them.
  if (images.includes(false))
    await run('bash', [script('images.sh')], { env: { ...process.env, OFFLINE: '1' }, timeout: 900_000 });

  const created = (await swarmState()) !== 'active';
  if (created) await run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1'], { timeout: 60_000 });
  t.teardown(async () => {
    if (created) await run('docker', ['swarm', 'leave', '--force']).catch(() => undefined);
  });
  t.equal(await swarmState(), 'active', created ? 'made a single-node swarm' : 'using the swarm already here');

  await t.test('the stack files deploy with swarm.sh: healthy tasks behind a host-mode port', async (t) => {
    const prefix = `mlbench-test-${process.pid}`;
    const port = await freePort();
    const promPort = await freePort();
    // A marker of its own: swarm.sh down must not leave a swarm that `make swarm-up` made.
    const marker = join(await mkdtemp(join(tmpdir(), 'mlbench-swarm-marker-')), 'created');
    const env = {
      ...process.env,
      PROJECT_PREFIX: prefix,
      SWARM_GATEWAY_PORT: String(port),
      SWARM_PROMETHEUS_PORT: String(promPort),
      SWARM_MARKER: marker,
      OBS: '1',
    };
    t.teardown(() => run('bash', [script('swarm.sh'), 'down', 'microservices'], { env }).catch(() => undefined));
    await run('bash', [script('swarm.sh'), 'up', 'microservices', '2'], { env, timeout: 300_000 });
    const seen = await servedBy(`http://127.0.0.1:${port}`, 20);
    t.equal(seen.size, 2, `both prediction tasks answered through the gateway: ${[...seen.keys()]}`);
    t.ok(
      [...seen.keys()].every((k) => k.startsWith(`${prefix}-microservices_prediction-`)),
      'tasks name themselves <stack>_<service>-<slot>',
    );
    // Prometheus in the stack finds both tasks by DNS (dnsrr) and the recording rules count them.
    const replicasUp = async () => {
      const res = await request(
        `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('service:replicas:up{service="prediction"}')}`,
      );
      const body = (await res.body.json()) as { data?: { result?: { value: [number, string] }[] } };
      return Number(body.data?.result?.[0]?.value[1] ?? 0);
    };
    let up = 0;
    for (let i = 0; i < 60 && up !== 2; i++) {
      up = await replicasUp().catch(() => 0);
      if (up !== 2) await sleep(1_000);
    }
    t.equal(up, 2, 'Prometheus in the stack scrapes both prediction tasks');
    const [task] = await docker.listContainers({
      filters: {
        label: [`${STACK}=${prefix}-microservices`, `com.docker.swarm.service.name=${prefix}-microservices_prediction`],
      },
    });
    const info = await docker.getContainer(task!.Id).inspect();
    t.equal(info.HostConfig.ReadonlyRootfs, true, 'read-only root');
    t.same(info.HostConfig.CapDrop, ['ALL'], 'every capability dropped');
    t.ok((info.HostConfig.Memory ?? 0) > 0 && (info.HostConfig.NanoCpus ?? 0) > 0, 'memory and CPU limits');
    t.ok(
      info.Mounts.some((m) => m.Type === 'tmpfs' && m.Destination === '/tmp'),
      'a tmpfs /tmp (the short tmpfs form is ignored by Swarm)',
    );
    await run('bash', [script('swarm.sh'), 'down', 'microservices'], { env, timeout: 120_000 });
    t.same(await leftovers(prefix), [], 'swarm.sh down removed services, containers and network');
  });

  await t.test('deploySwarm: 2 prediction tasks, scaled to 3 and back through service updates', async (t) => {
    const dep = await deploySwarm('microservices', 2, { runId: `swarm-test-${process.pid}` });
    t.teardown(() => dep.stop());
    const gateway = dep.entryUrls[0]!;
    t.same(
      dep.components.map((c) => c.name),
      ['prediction-1', 'prediction-2', 'gateway-1'],
    );
    const two = await servedBy(gateway, 20);
    t.equal(two.size, 2, `two tasks serve: ${[...two.keys()]}`);
    t.same(
      [...two.keys()].map((k) => dep.servedByAlias?.[k]).sort(),
      ['prediction-1', 'prediction-2'],
      'x-served-by maps back to component names',
    );

    await dep.scale(3);
    t.equal(dep.replicas, 3);
    const three = await servedBy(gateway, 30);
    t.equal(three.size, 3, `three tasks serve after scaling up: ${[...three.keys()]}`);
    const spec = (await docker.getService(`${dep.project}_prediction`).inspect()) as {
      Spec: { Mode: { Replicated: { Replicas: number } } };
    };
    t.equal(spec.Spec.Mode.Replicated.Replicas, 3, 'the service spec says 3 (docker service ls agrees)');

    await dep.scale(2);
    t.equal(dep.replicas, 2);
    const back = await servedBy(gateway, 20);
    t.equal(back.size, 2, 'two tasks serve after scaling back');
    t.equal(
      [...back.values()].reduce((a, b) => a + b, 0),
      20,
      'no request failed after the third task left',
    );
    const usage = await dep.sampleResources();
    t.ok(
      [...usage.values()].every((u) => u.cpuSeconds > 0 && u.rssMB > 10),
      'CPU and memory of every task from the engine',
      { usage: Object.fromEntries(usage) },
    );
    await dep.stop();
    t.same(await leftovers(dep.project), [], 'stop removed the services, containers and network');
  });

  await t.test('mlbench bench --backend swarm: valid runs, both replicas in x-served-by, task CPU', async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'mlbench-swarm-'));
    const runId = `swarm-${process.pid}`;
    const args = ['bench', '--backend', 'swarm', '--plan', 'quick', '--topology', 'both', '--replicas', '2'];
    await run(process.execPath, [CLI, ...args, '--no-capacity', '--run-id', runId, '--out', out], {
      timeout: 600_000,
    }).catch((err) => {
      throw new Error(`bench failed: ${(err as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' | ')}`);
    });
    const results = JSON.parse(await readFile(join(out, runId, 'results.json'), 'utf8')) as ResultsFile;
    t.equal(results.status, 'complete');
    t.equal(results.config.backend, 'swarm');
    for (const [topology, tier, others] of [
      ['monolith', 'monolith', []],
      ['microservices', 'prediction', ['gateway-1']],
    ] as const) {
      const r = results.runs.find((x) => x.topology === topology && x.phase === 'trial');
      if (!t.ok(r, `${topology} trial recorded`) || !r) continue;
      t.equal(r.backend, 'swarm');
      t.ok(r.valid, `${topology} run valid: ${r.invalidReasons.join('; ')}`);
      t.equal(r.errors.count, 0, `${topology}: no errors`);
      for (const name of [`${tier}-1`, `${tier}-2`, ...others]) {
        const res = r.resources[name];
        t.ok(res && res.cpuSeconds > 0 && res.rssMaxMB > 10, `${topology}: ${name} CPU and memory sampled`, { res });
      }
      t.ok(
        (r.servedBy[`${tier}-1`] ?? 0) > 0 && (r.servedBy[`${tier}-2`] ?? 0) > 0,
        `${topology}: both replicas served`,
        {
          servedBy: r.servedBy,
        },
      );
      t.ok(Object.keys(r.hops).length > 0, `${topology}: per-hop server time scraped from the tasks`);
    }
    t.same(await leftovers(BENCH_PROJECT_PREFIX), [], 'the bench removed every stack it deployed');
  });

  await t.test('Ctrl-C during a swarm bench removes its stacks', async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'mlbench-swarm-sigint-'));
    const scenario = join(out, 'long.json');
    await writeFile(scenario, JSON.stringify({ executor: 'constant-arrival-rate', rate: 100, duration: '60s' }));
    const child = spawn(
      process.execPath,
      [CLI, 'bench', '--backend', 'swarm', '--scenario', scenario, '--out', out, '--no-capacity'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 180_000;
    while (!/deployed/.test(stderr) && Date.now() < deadline) await sleep(200);
    t.match(stderr, /deployed/, 'both topologies came up');
    const mine = `${BENCH_PROJECT_PREFIX}${child.pid}-`;
    t.equal(
      (await leftovers(mine)).filter((x) => x.startsWith('service')).length,
      3,
      'monolith, gateway and prediction services',
    );
    child.kill('SIGINT');
    t.equal(await exited, 130, 'exits 130 after cleaning up', { stderr: stderr.slice(-1500) });
    t.same(await leftovers(mine), [], 'no service, container or network of the run is left');
  });

  await t.test('nothing of the project is left, and a swarm made here is left again', async (t) => {
    t.same(await leftovers(BENCH_PROJECT_PREFIX), []);
    t.same(await leftovers(`mlbench-test-${process.pid}`), []);
    if (created) {
      await run('docker', ['swarm', 'leave', '--force'], { timeout: 60_000 });
      t.equal(await swarmState(), 'inactive', 'left the swarm this test made');
    }
  });
});
