import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { deploySwarm } from '../../../src/backends/swarm/deploy.js';
import { engineClient, loadSwarmNodes } from '../../../src/backends/swarm/nodes.js';
import { STACK } from '../../../src/backends/swarm/tasks.js';
import type { ResultsFile } from '../../../src/results/index.js';
import { docker, engineAvailable, ensureImages, script, servedBy } from '../../helpers/docker.js';
import { CLI } from '../../helpers/servers.js';

/**
 * The swarm backend across a real 3-node swarm on this machine (scripts/docker/swarm-cluster.sh:
 * each node its own engine in a Docker-in-Docker container): images pulled by every node from the
 * cluster's registry by digest, tasks spread over zones and reached at their nodes' ports, CPU and
 * memory from each node's own engine, scaling to 6 and back, a node lost under load, and nothing
 * left after teardown. Mandatory under CI=true (as root: the nodes are containers with every
 * capability but one).
 */
const run = promisify(execFile);
t.setTimeout(1_200_000);

const engine = await engineAvailable();
const skip = engine ?? (process.getuid?.() === 0 ? undefined : 'the cluster nodes need root');
if (skip && process.env.CI === 'true' && process.getuid?.() === 0)
  throw new Error(`CI=true requires the multi-node Swarm test: ${skip}`);

const CLUSTER = `mlbench-test-${process.pid}`;
const cluster = (args: string[], timeout = 600_000) =>
  run('bash', [script('swarm-cluster.sh'), ...args], {
    env: { ...process.env, SWARM_CLUSTER: CLUSTER },
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  });

/** The lines `swarm-cluster.sh env` prints, as an environment. */
const parseEnv = (text: string) =>
  Object.fromEntries([...text.matchAll(/^export ([A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));

t.test('unasked as non-root, cluster up refuses with one line', { skip: process.getuid?.() === 0 }, async (t) => {
  const err = await cluster(['up', '3'], 60_000).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.equal(err?.code, 1);
  t.match(err?.stderr.trim(), /^swarm-cluster\.sh: .*root/);
});

t.test('the swarm backend on a 3-node cluster', { skip, timeout: 1_200_000 }, async (t) => {
  await ensureImages();
  t.teardown(() => cluster(['down'], 120_000).catch(() => undefined));

  const started = Date.now();
  const up = await cluster(['up', '3']);
  const env = parseEnv(up.stdout);
  t.match(env, { DOCKER_HOST: /^unix:\/\//, IMAGE_PREFIX: /^[0-9.]+:5000\/mlbench\/$/, MLBENCH_SWARM_PUBLISH: 'all' });
  t.comment(`cluster up in ${Math.round((Date.now() - started) / 1000)} s`);
  const manager = engineClient(env.DOCKER_HOST!);
  const specs = loadSwarmNodes(env.MLBENCH_SWARM_NODES);
  t.equal(specs.size, 3, 'the nodes file names three nodes');

  const nodes = (await manager.listNodes()) as {
    Description: { Hostname: string };
    Status: { State: string; Addr: string };
    Spec: { Role: string; Labels?: Record<string, string> };
  }[];
  t.same(
    nodes.map((n) => [n.Description.Hostname, n.Status.State, n.Spec.Labels?.['mlbench.zone']]).sort(),
    [1, 2, 3].map((i) => [`${CLUSTER}-node${i}`, 'ready', 'abc'[i - 1]]),
    'three ready nodes in three zones',
  );
  t.equal(nodes.filter((n) => n.Spec.Role === 'manager').length, 1, 'one manager, two workers');
  const hostAddresses = new Set(
    (await run('ip', ['-o', 'addr'])).stdout.split('\n').map((l) => /inet6? ([^/ ]+)/.exec(l)?.[1]),
  );
  t.ok(
    nodes.every((n) => !hostAddresses.has(n.Status.Addr) && /^(10|172|192)\./.test(n.Status.Addr)),
    'each node has an address of its own on the cluster network',
  );

  // The backend in-process, with the environment the cluster printed.
  const saved = { ...process.env };
  Object.assign(process.env, env);
  t.teardown(() => {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  });

  await t.test('deploy 3 prediction tasks: spread over nodes, pulled by digest, reached at their nodes', async (t) => {
    const dep = await deploySwarm('microservices', 3, { docker: manager, nodes: specs });
    t.teardown(() => dep.stop());
    const prediction = dep.components.filter((c) => c.service === 'prediction');
    const onNodes = new Set(prediction.map((c) => c.node));
    t.ok(onNodes.size >= 2, `3 prediction tasks on ${onNodes.size} nodes: ${[...onNodes]}`);
    t.ok(
      dep.components.every((c) => /^http:\/\/[0-9.]+:\d+$/.test(c.url) && c.metricsUrl),
      'every task at its node address and published ports',
    );
    const spec = (await manager.getService(`${dep.project}_prediction`).inspect()) as {
      Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
    };
    t.match(
      spec.Spec.TaskTemplate.ContainerSpec.Image,
      new RegExp(`^${env.IMAGE_PREFIX!.replace(/\./g, '\\.')}prediction:dev@sha256:[0-9a-f]{64}$`),
      'pinned to the registry digest',
    );
    for (const [name, s] of specs) {
      if (!prediction.some((c) => c.node === name)) continue;
      const refs = (await engineClient(s.engine).listImages()).flatMap((i) => i.RepoDigests ?? []);
      t.ok(
        refs.some((r) => r.startsWith(`${env.IMAGE_PREFIX}prediction@sha256:`)),
        `${name} pulled the prediction image from the registry by digest`,
      );
    }
    const three = await servedBy(dep.entryUrls[0]!, 30);
    t.equal(three.size, 3, `all three tasks serve through the gateway: ${[...three.keys()]}`);

    await dep.scale(6);
    const six = await servedBy(dep.entryUrls[0]!, 60);
    t.equal(six.size, 6, 'six tasks serve after scaling to 6 through the manager');
    const perNode = new Map<string, number>();
    for (const c of dep.components.filter((c) => c.service === 'prediction'))
      perNode.set(c.node!, (perNode.get(c.node!) ?? 0) + 1);
    t.same([...perNode.values()], [2, 2, 2], 'spread over the three zones: two tasks each', {
      perNode: Object.fromEntries(perNode),
    });
    const usage = await dep.sampleResources();
    t.equal(usage.size, 7, 'CPU and memory of all 7 tasks, from the engines of their nodes');
    await dep.scale(3);
    const back = await servedBy(dep.entryUrls[0]!, 30);
    t.equal(back.size, 3, 'three serve again after scaling back');
    t.equal(
      [...back.values()].reduce((a, b) => a + b, 0),
      30,
      'no request failed',
    );
    await dep.stop();
  });

  const out = await mkdtemp(join(tmpdir(), 'mlbench-cluster-'));
  const bench = async (runId: string, extra: string[]) => {
    await run(
      process.execPath,
      [
        CLI,
        'bench',
        '--backend',
        'swarm',
        '--preset',
        'quick',
        '--topology',
        'microservices',
        '--replicas',
        '3',
        '--no-capacity',
        '--run-id',
        runId,
        '--out',
        out,
        ...extra,
      ],
      { env: process.env, timeout: 600_000 },
    ).catch((err) => {
      throw new Error(`bench failed: ${(err as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' | ')}`);
    });
    return JSON.parse(await readFile(join(out, runId, 'results.json'), 'utf8')) as ResultsFile;
  };

  await t.test('mlbench bench --backend swarm (quick): every task served and sampled on its node', async (t) => {
    const results = await bench('cluster', []);
    t.equal(results.status, 'complete');
    const r = results.runs.find((x) => x.phase === 'trial')!;
    t.equal(r.errors.count, 0, 'no errors');
    for (const name of ['prediction-1', 'prediction-2', 'prediction-3', 'gateway-1']) {
      const res = r.resources[name];
      t.ok(res && res.cpuSeconds > 0 && res.rssMaxMB > 10 && res.node?.startsWith(CLUSTER), `${name} sampled`, {
        res,
      });
      if (name !== 'gateway-1') t.ok((r.servedBy[name] ?? 0) > 0, `${name} served (x-served-by)`);
    }
    const onNodes = new Set(['prediction-1', 'prediction-2', 'prediction-3'].map((n) => r.resources[n]?.node));
    t.ok(onNodes.size >= 2, `the tasks ran on ${onNodes.size} nodes`);
    t.ok(Object.keys(r.hops).length > 0, "per-hop server time from the tasks' metrics ports");
    t.comment(
      `3 nodes, quick plan: ${r.achievedRps} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, server CPU/1k ${r.resources.servers?.cpuSecondsPer1kRequests}`,
    );
  });

  await t.test('node-stop under load: a worker lost, its tasks rescheduled, the recovery reported', async (t) => {
    const scenario = join(out, 'node-loss.json');
    // Long enough for the swarm to notice the node gone and its tasks to pass health checks elsewhere.
    await writeFile(
      scenario,
      JSON.stringify({
        executor: 'constant-arrival-rate',
        rate: 300,
        duration: '45s',
        warmup: '2s',
        payload: { features: 8, batchSize: 1, seed: 42 },
        slo: { p99Ms: 50, errorRate: 0.001 },
        requestTimeout: '5s',
      }),
    );
    const results = await bench('node-loss', ['--fault', 'node-stop@5s', '--scenario', scenario, '--trials', '1']);
    const r = results.runs.find((x) => x.phase === 'fault')!;
    const f = r.fault!;
    t.equal(f.kind, 'node-stop');
    t.match(f.target, new RegExp(`^${CLUSTER}-node[23]$`), 'a worker node was lost');
    t.ok(typeof f.rescheduledAfterS === 'number' && f.rescheduledAfterS > 0, 'rescheduled, and when', { f });
    t.ok(f.timeToZeroErrorsS >= 0 && f.errorsBySecond.length >= 40, 'errors per second over the run');
    t.comment(
      `node-stop ${f.target}: lost ${f.requestsLost} requests, errors back to zero after ${f.timeToZeroErrorsS} s, tier rescheduled after ${f.rescheduledAfterS} s, p99 during ${f.p99DuringFaultMs} ms`,
    );
    const after = (await manager.listNodes()) as { Status: { State: string } }[];
    t.ok(
      after.every((n) => n.Status.State === 'ready'),
      'the lost node was started again and rejoined',
    );
    const stacks = await manager.listServices({ filters: { label: [STACK] } });
    t.same(stacks, [], 'the bench removed its stack');
  });

  await t.test('teardown leaves nothing', async (t) => {
    await cluster(['down'], 120_000);
    t.equal((await cluster(['leftovers'])).stdout, '', 'no node container, volume, network or state');
    t.notOk(existsSync(`/run/mlbench-swarm/${CLUSTER}`), 'no engine sockets');
    const containers = await docker.listContainers({ all: true, filters: { label: [`mlbench.cluster=${CLUSTER}`] } });
    t.same(containers, [], 'no container of the cluster on this engine');
    const networks = (await docker.listNetworks()).filter((n) => n.Name === CLUSTER);
    t.same(networks, [], 'no cluster network');
    const refs = (await docker.listImages()).flatMap((i) => [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])]);
    t.same(
      refs.filter((r) => r.startsWith(env.IMAGE_PREFIX!.split('/')[0]!)),
      [],
      'no registry image reference on this host',
    );
  });
});
