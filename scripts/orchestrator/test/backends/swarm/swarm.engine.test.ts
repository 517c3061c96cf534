import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { request } from 'undici';
import { BENCH_PROJECT_PREFIX } from '../../../src/backends/containers.js';
import { deploySwarm } from '../../../src/backends/swarm/deploy.js';
import { STACK } from '../../../src/backends/swarm/tasks.js';
import { freePort } from '../../../src/sys/ports.js';
import { which } from '../../../src/sys/which.js';
import {
  benchBothReplicas,
  docker,
  engineAvailable,
  ensureImages,
  interruptBench,
  script,
  servedBy,
} from '../../helpers/docker.js';

/**
 * The Swarm backend on a real engine: a single-node swarm (made here if there is none, and
 * left again at the end), the stack files through scripts/docker/swarm.sh, scaling through
 * service updates, a bench, Ctrl-C, and nothing left behind. Mandatory under CI=true.
 */
const run = promisify(execFile);
t.setTimeout(900_000);

const skip = await engineAvailable();
if (skip && process.env.CI === 'true') throw new Error(`CI=true requires the Swarm test: ${skip}`);

// Debian's docker-registry, a registry on loopback for the push-and-pull test (.ci/run installs it).
const noRegistry = which('docker-registry') ? undefined : "no registry here (Debian's docker-registry)";
if (noRegistry && process.env.CI === 'true') throw new Error(`CI=true requires the registry test: ${noRegistry}`);

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
  await ensureImages();

  const created = (await swarmState()) !== 'active';
  if (created)
    await run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377'], {
      timeout: 60_000,
    });
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
      // This test reaches the stack through its published ports (on every interface: opt-in).
      PUBLISH: '1',
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

  await t.test(
    'images pushed to a registry (make push-images) are what the nodes pull, pinned by digest',
    { skip: noRegistry },
    async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'mlbench-registry-'));
      const regPort = await freePort();
      await writeFile(
        join(dir, 'config.yml'),
        `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${regPort}\n`,
      );
      const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
      t.teardown(() => registry.kill());
      for (let i = 0; i < 50; i++) {
        const up = await request(`http://127.0.0.1:${regPort}/v2/`).then(
          (r) => r.body.text().then(() => r.statusCode === 200),
          () => false,
        );
        if (up) break;
        await sleep(100);
      }
      const prefix = `mlbench-test-${process.pid}`;
      const imagePrefix = `localhost:${regPort}/${prefix}/`;
      const port = await freePort();
      const marker = join(dir, 'created');
      const env = {
        ...process.env,
        IMAGE_PREFIX: imagePrefix,
        PROJECT_PREFIX: prefix,
        SWARM_GATEWAY_PORT: String(port),
        SWARM_MARKER: marker,
        PUBLISH: '1',
      };
      // Tags, and the digest references the nodes' pulls leave (`<none>` in `docker images`).
      const untag = async () => {
        const refs = ['monolith', 'prediction', 'gateway'].map((s) => `${imagePrefix}${s}:dev`);
        for (const image of await docker.listImages())
          refs.push(...(image.RepoDigests ?? []).filter((d) => d.startsWith(imagePrefix)));
        await Promise.all(
          refs.map((ref) =>
            docker
              .getImage(ref)
              .remove()
              .catch(() => undefined),
          ),
        );
      };
      t.teardown(async () => {
        await run('bash', [script('swarm.sh'), 'down', 'microservices'], { env }).catch(() => undefined);
        await untag();
      });
      const { stderr } = await run('bash', [script('swarm.sh'), 'push'], { env, timeout: 300_000 });
      t.equal(stderr.match(/^swarm\.sh: pushed /gm)?.length, 3, 'three images pushed');
      await untag(); // so the node has to pull them
      await run('bash', [script('swarm.sh'), 'up', 'microservices', '1'], { env, timeout: 300_000 });
      const spec = (await docker.getService(`${prefix}-microservices_gateway`).inspect()) as {
        Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
      };
      t.match(
        spec.Spec.TaskTemplate.ContainerSpec.Image,
        new RegExp(`^${imagePrefix}gateway:dev@sha256:[0-9a-f]{64}$`),
        'the service runs the registry image, pinned to its digest',
      );
      t.equal((await servedBy(`http://127.0.0.1:${port}`, 5)).size, 1, 'and answers');
      await run('bash', [script('swarm.sh'), 'down', 'microservices'], { env, timeout: 120_000 });
      t.same(await leftovers(prefix), [], 'nothing of the stack is left');
      await untag();
      const left = (await docker.listImages()).flatMap((i) => [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])]);
      t.same(
        left.filter((r) => r.startsWith(imagePrefix)),
        [],
        'no tag or digest reference of the registry is left on this host',
      );
    },
  );

  await t.test('deploySwarm: 2 prediction tasks, scaled to 3 and back through service updates', async (t) => {
    const dep = await deploySwarm('microservices', 2, {});
    t.teardown(() => dep.stop());
    const gateway = dep.entryUrls[0]!;
    t.same(
      dep.components.map((c) => c.name),
      ['prediction-1', 'prediction-2', 'gateway-1'],
    );
    const two = await servedBy(gateway, 20);
    t.equal(two.size, 2, `two tasks serve: ${[...two.keys()]}`);
    // Swarm can only publish on every interface: unasked, the bench publishes nothing and
    // reaches this node's tasks at their docker_gwbridge addresses.
    for (const service of ['gateway', 'prediction']) {
      const s = (await docker.getService(`${dep.project}_${service}`).inspect()) as {
        Endpoint?: { Ports?: unknown[] };
        Spec: { EndpointSpec?: { Ports?: unknown[] } };
      };
      t.same(s.Spec.EndpointSpec?.Ports ?? [], [], `${service}: no published port`);
    }
    const metricsOnPublic = await request(`${gateway}/metrics`);
    await metricsOnPublic.body.dump();
    t.equal(metricsOnPublic.statusCode, 404, "the gateway's public port serves no /metrics");
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
    await benchBothReplicas(t, 'swarm');
    t.same(await leftovers(BENCH_PROJECT_PREFIX), [], 'the bench removed every stack it deployed');
  });

  await t.test('Ctrl-C during a swarm bench removes its stacks', async (t) => {
    await interruptBench(
      t,
      'swarm',
      async (p) => (await leftovers(p)).filter((x) => x.startsWith('service')).length,
      leftovers,
    );
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
