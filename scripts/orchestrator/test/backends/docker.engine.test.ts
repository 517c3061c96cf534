import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { trainToFile } from '@mlbench/model';
import t from 'tap';
import { request } from 'undici';
import { imageOf } from '../../src/backends/compose.js';
import { BENCH_PROJECT_PREFIX } from '../../src/backends/containers.js';
import { deployDocker } from '../../src/backends/docker.js';
import { memLimitMbFor } from '../../src/backends/model-memory.js';
import { freePort } from '../../src/sys/ports.js';
import {
  benchBothReplicas,
  docker,
  engineAvailable,
  interruptBench,
  ROOT,
  script,
  servedBy,
} from '../helpers/docker.js';

/**
 * The Docker backend against a real engine: images built here (registry-less base),
 * Compose stacks, scaling through the API, a bench, Ctrl-C, and nothing left behind.
 * Mandatory under CI=true; elsewhere skipped only when no engine can be had.
 */
const run = promisify(execFile);
const PROJECT = 'com.docker.compose.project';

// Over the 300 s every other test file gets: on a fresh machine this one also debootstraps a
// base and builds three images (about 6 minutes in all here).
t.setTimeout(1_200_000);

const skip = await engineAvailable();
if (skip && process.env.CI === 'true') throw new Error(`CI=true requires the Docker test: ${skip}`);

async function containersOf(prefix: string) {
  const all = await docker.listContainers({ all: true, filters: { label: [PROJECT] } });
  return all.filter((c) => c.Labels[PROJECT]!.startsWith(prefix));
}

t.test('Docker backend on a real engine', { skip, timeout: 1_200_000 }, async (t) => {
  await t.test('images build without a registry and run as non-root with a healthcheck', async (t) => {
    const { stderr } = await run('bash', [script('images.sh')], {
      env: { ...process.env, OFFLINE: '1' },
      timeout: 900_000,
    });
    for (const service of ['monolith', 'prediction', 'gateway']) {
      const info = await docker.getImage(imageOf(service)).inspect();
      t.match(stderr, new RegExp(`^${service}\\s+\\S+\\s+\\d+ MB`, 'm'), `${service}: size printed`);
      t.ok(info.Config.User && !/^(root|0)(:|$)/.test(info.Config.User), `${service} runs as ${info.Config.User}`);
      t.ok((info.Config.Healthcheck?.Test ?? []).length > 1, `${service} has a HEALTHCHECK`);
      t.equal(info.Config.Cmd?.[0], 'node', `${service}: node is PID 1's command, not npm`);
    }
  });

  await t.test('every Compose layering the Makefile uses is valid', async (t) => {
    const { stdout } = await run('bash', [script('stack.sh'), 'config'], { timeout: 120_000 });
    t.equal(stdout.match(/^valid: /gm)?.length, 6, stdout);
  });

  await t.test('a Compose stack comes up healthy, answers on 127.0.0.1, scales by DNS, goes away', async (t) => {
    const prefix = `mlbench-test-${process.pid}`;
    const port = await freePort();
    const env = { ...process.env, PROJECT_PREFIX: prefix, GATEWAY_PUBLISH: `127.0.0.1:${port}` };
    t.teardown(() => run('bash', [script('stack.sh'), 'down', 'microservices'], { env }).catch(() => undefined));
    await run('bash', [script('stack.sh'), 'up', 'microservices', '2'], { env, timeout: 300_000 });
    const seen = await servedBy(`http://127.0.0.1:${port}`, 20);
    t.equal(seen.size, 2, `both prediction replicas answered through the gateway: ${[...seen.keys()]}`);
    await run('bash', [script('stack.sh'), 'down', 'microservices'], { env, timeout: 120_000 });
    t.same(await containersOf(prefix), [], 'no container of the stack is left');
  });

  await t.test(
    'nginx as the Compose gateway: both replicas through it, our JSON errors, stub_status unpublished',
    async (t) => {
      const prefix = `mlbench-test-${process.pid}-nginx`;
      const port = await freePort();
      const env = { ...process.env, PROJECT_PREFIX: prefix, GATEWAY_PUBLISH: `127.0.0.1:${port}`, GATEWAY: 'nginx' };
      t.teardown(() => run('bash', [script('stack.sh'), 'down', 'microservices'], { env }).catch(() => undefined));
      // On a fresh machine no registry answers: the image is Debian's nginx-light on a base made here.
      await run('bash', [script('stack.sh'), 'up', 'microservices', '2'], { env, timeout: 600_000 });
      const [gateway] = (await containersOf(prefix)).filter(
        (c) => c.Labels['com.docker.compose.service'] === 'gateway',
      );
      const info = await docker.getContainer(gateway!.Id).inspect();
      t.match(info.Config.Entrypoint?.[0], 'nginx', `the gateway container runs nginx (${info.Config.Image})`);
      t.equal(info.Config.User, '65534:65534', 'not root');
      const published = Object.entries(info.NetworkSettings.Ports ?? {}).filter(([, b]) => (b ?? []).length > 0);
      t.same(
        published.map(([p]) => p),
        ['8080/tcp'],
        'only the public port is published',
      );
      const seen = await servedBy(`http://127.0.0.1:${port}`, 20);
      t.equal(seen.size, 2, `both prediction replicas answered through nginx: ${[...seen.keys()]}`);
      const big = await request(`http://127.0.0.1:${port}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.alloc(2 * 1024 * 1024, 0x20),
      });
      const body = (await big.body.json()) as { statusCode: number };
      t.equal(big.statusCode, 413, 'an oversized body is refused by nginx');
      t.equal(body.statusCode, 413, 'as JSON, like our gateway');
      await run('bash', [script('stack.sh'), 'down', 'microservices'], { env, timeout: 120_000 });
      t.same(await containersOf(prefix), [], 'no container of the stack is left');
    },
  );

  await t.test('deployDocker scales the prediction tier to 3 and back to 1 through the API', async (t) => {
    const dep = await deployDocker('microservices', 2, {});
    t.teardown(() => dep.stop());
    const gateway = dep.entryUrls[0]!;
    t.equal(dep.components.filter((c) => c.service === 'prediction').length, 2);
    t.equal((await servedBy(gateway, 20)).size, 2, 'two replicas serve');
    // The images serve /metrics on METRICS_PORT (9464): never on the public port.
    const pub = await request(`${gateway}/metrics`);
    await pub.body.dump();
    t.equal(pub.statusCode, 404, "the gateway's public port serves no /metrics");
    const gw = dep.components.find((c) => c.service === 'gateway')!;
    t.match(gw.metricsUrl ?? '', /:9464$/, 'the backend knows where its metrics are');
    const internal = await request(`${gw.metricsUrl}/metrics`);
    t.match(await internal.body.text(), /gateway_upstreams\{[^}]*state="usable"[^}]*\} 2/, 'and reads them there');

    await dep.scale(3);
    t.equal(dep.replicas, 3);
    const three = await servedBy(gateway, 30);
    t.equal(three.size, 3, `three replicas serve after scaling up: ${[...three.keys()]}`);
    const { stdout } = await run(
      'docker-compose',
      [
        '-p',
        dep.project,
        '-f',
        join(ROOT, 'compose/microservices.yaml'),
        'ps',
        '--services',
        '--filter',
        'status=running',
      ],
      { cwd: ROOT },
    ).catch(() => ({ stdout: 'prediction\ngateway' }));
    t.match(stdout, /prediction/, 'Compose still understands the project');

    await dep.scale(1);
    t.equal(dep.replicas, 1);
    const one = await servedBy(gateway, 10);
    t.equal(one.size, 1, 'one replica serves after scaling down');
    t.equal([...one.values()][0], 10, 'and no request failed while the others left');
    await dep.stop();
    t.same(await containersOf(dep.project), [], 'stop removed every container');
    const nets = await docker.listNetworks({ filters: { label: [`${PROJECT}=${dep.project}`] } });
    t.same(nets, [], 'and the network');
  });

  await t.test('tiers scaled apart: two gateways, each over both prediction replicas', async (t) => {
    const dep = await deployDocker('microservices', 2, { gateways: 2 });
    t.teardown(() => dep.stop());
    t.equal(dep.gateways, 2);
    t.equal(dep.entryUrls.length, 2, 'the client reaches each gateway at its own address');
    for (const url of dep.entryUrls) t.equal((await servedBy(url, 20)).size, 2, `${url}: both replicas serve`);
    await dep.stop();
    t.same(await containersOf(dep.project), []);
  });

  await t.test('a 520 MB model is served, not OOM-killed: the limit follows the model', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mlbench-bigmodel-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const modelPath = join(dir, 'big.mlb');
    await trainToFile({
      family: 'random-features',
      features: 8,
      size: 'xs',
      memoryMb: 520,
      out: modelPath,
      samples: 800,
    });
    t.equal(memLimitMbFor((await stat(modelPath)).size), 896);
    const dep = await deployDocker('monolith', 1, { modelPath });
    t.teardown(() => dep.stop());
    const c = dep.components[0]!;
    const info = await docker.getContainer(c.containerId).inspect();
    t.equal(info.HostConfig.Memory, 896 * 2 ** 20, 'limit from the model, not the 256 MB default');
    const ready = (await (await fetch(`${c.url}/readyz`)).json()) as { model: Record<string, unknown> };
    t.equal(ready.model.family, 'random-features');
    t.ok(Number(ready.model.residentMB) > 520, `resident ${ready.model.residentMB} MB with the table loaded`);
    const res = await fetch(`${c.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ features: [1, 2, 3, 4, 5, 6, 7, 8] }),
    });
    t.equal(res.status, 200);
    t.equal((await docker.getContainer(c.containerId).inspect()).State.OOMKilled, false);
    await dep.stop();
  });

  await t.test('mlbench bench --backend docker writes container CPU and memory; both replicas serve', async (t) => {
    await benchBothReplicas(t, 'docker');
    t.same(await containersOf(BENCH_PROJECT_PREFIX), [], 'the bench removed everything it created');
  });

  await t.test('Ctrl-C during a docker bench removes its containers', async (t) => {
    await interruptBench(t, 'docker', async (p) => (await containersOf(p)).length, containersOf);
  });

  await t.test('nothing of the project is left running', async (t) => {
    t.same(await containersOf('mlbench-bench-'), []);
    t.same(await containersOf(`mlbench-test-${process.pid}`), []);
  });
});
