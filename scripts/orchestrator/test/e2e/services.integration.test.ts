import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MODEL_PATH, loadModel } from '@mlbench/model';
import t from 'tap';
import { request } from 'undici';
import { deployProcesses, serverScript, startService } from '../../src/backends/process.js';

const opts = { modelPath: DEFAULT_MODEL_PATH, runId: 'test-services' };
const features = [0.5, -1, 2, 3, 0, 1, -2, 4];

async function predict(base: string, body: unknown, path = '/predict') {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, servedBy: res.headers['x-served-by'], json: (await res.body.json()) as any };
}

t.test('a prediction through the monolith and through the gateway equals the model’s own', async (t) => {
  const model = await loadModel(DEFAULT_MODEL_PATH);
  const mono = await deployProcesses('monolith', 1, opts);
  t.teardown(() => mono.stop());
  const micro = await deployProcesses('microservices', 2, opts);
  t.teardown(() => micro.stop());
  const expected = model.predict(features);
  const a = await predict(mono.entryUrls[0]!, { features });
  t.equal(a.status, 200);
  t.equal(a.json.prediction, expected);
  t.equal(a.servedBy, 'monolith-1');
  const servedBy = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const b = await predict(micro.entryUrls[0]!, { features });
    t.equal(b.json.prediction, expected);
    servedBy.add(String(b.servedBy));
  }
  t.same([...servedBy].sort(), ['prediction-1', 'prediction-2'], 'both replicas named in x-served-by');
  const batch = await predict(micro.entryUrls[0]!, { instances: [features, features] }, '/predict/batch');
  t.same(batch.json.predictions, [expected, expected]);

  for (const base of [mono.entryUrls[0]!, micro.entryUrls[0]!]) {
    for (const bad of [
      '{"features":[1]}',
      '{"features":[1,2',
      '{"features":"x"}',
      JSON.stringify({ features: new Array(300000).fill(1) }),
    ]) {
      const r = await predict(base, bad);
      t.ok(r.status >= 400 && r.status < 500, `${base} answers ${r.status} to bad input`);
    }
    t.equal((await predict(base, { features })).status, 200, 'still serving');
  }

  const metrics = await (await request(`${micro.entryUrls[0]}/metrics`)).body.text();
  const counts = [
    ...metrics.matchAll(
      /http_request_duration_seconds_count\{[^}]*route="\/predict[^"]*"[^}]*status_code="200"[^}]*\} (\d+)/g,
    ),
  ];
  t.ok(counts.length > 0, 'gateway exports its request histogram');
  const total = counts.reduce((n, m) => n + Number(m[1]), 0);
  t.equal(total, 10 + 1 + 1, 'and it counts the successful proxied requests (10 + 1 batch + 1 after bad input)');
  t.match(metrics, /^gateway_upstreams\{state="known"[^}]*\} 2$/m, 'gateway reports 2 known replicas');
  t.match(metrics, /^gateway_upstreams\{state="usable"[^}]*\} 2$/m, 'and 2 usable ones');
});

t.test('gateway answers 502/503 quickly when its upstream is gone', async (t) => {
  const micro = await deployProcesses('microservices', 1, {
    ...opts,
    extraEnv: { UPSTREAM_TIMEOUT_MS: '2000', HEALTH_INTERVAL_MS: '200' },
  });
  t.teardown(() => micro.stop());
  const gw = micro.entryUrls[0]!;
  t.equal((await predict(gw, { features })).status, 200);
  await micro.processes.get('prediction-1')!.stop();
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await predict(gw, { features });
    const ms = performance.now() - t0;
    statuses.push(r.status);
    t.ok(ms < 2000, `answered in ${ms.toFixed(0)} ms, within the upstream timeout`);
    t.equal(r.json.statusCode, r.status, 'JSON error body');
  }
  t.ok(
    statuses.every((s) => s === 502 || s === 503),
    `only 502/503: ${statuses}`,
  );
  // Passive ejection never removes the last replica; the active health check (200 ms here) does.
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  const after = await predict(gw, { features });
  t.equal(after.status, 503, 'unhealthy upstream: 503 ...');
  t.ok(performance.now() - t0 < 100, '... answered at once, no connection attempted');
  const ready = await request(`${gw}/readyz`);
  t.equal(ready.statusCode, 503, 'gateway not ready without upstreams');
  await ready.body.dump();
  const metrics = await (await request(`${gw}/metrics`)).body.text();
  t.match(metrics, /^gateway_upstreams\{state="usable"[^}]*\} 0$/m, 'its gauge shows no usable replica');
});

t.test('a stall of every prediction replica costs latency, not errors; a hung one is taken out', async (t) => {
  // Default health settings (checks every 1 s, 500 ms timeout): a host hiccup that freezes
  // both replicas for 700 ms makes each miss one check at most, so both stay in.
  const micro = await deployProcesses('microservices', 2, opts);
  t.teardown(() => micro.stop());
  const gw = micro.entryUrls[0]!;
  const replicas = ['prediction-1', 'prediction-2'].map((n) => micro.processes.get(n)!);
  const statuses = new Map<string, number>();
  let sending = true;
  const deadline = performance.now() + 30_000;
  const worker = async () => {
    let i = 0;
    for (; i < 20_000 && sending && performance.now() < deadline; i++) {
      const r = await predict(gw, { features });
      // The error code tells who refused: the gateway (NO_HEALTHY_UPSTREAM) or a replica shedding.
      const key = r.status === 200 ? '200' : `${r.status} ${r.json.code}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    return i;
  };
  const load = Promise.all(Array.from({ length: 4 }, worker));
  // 2 s apart, so no two checks in a row can both fall into a stall.
  for (let i = 0; i < 3; i++) {
    await sleep(2_000);
    for (const p of replicas) p.signal('SIGSTOP');
    await sleep(700);
    for (const p of replicas) p.signal('SIGCONT');
  }
  await sleep(800);
  sending = false;
  const counts = await load;
  t.ok(
    counts.every((n) => n < 20_000),
    `load ran through every stall (${counts.join(' + ')} requests; no loop hit its cap)`,
  );
  t.same([...statuses.keys()], ['200'], `every request succeeded: ${JSON.stringify(Object.fromEntries(statuses))}`);

  // A replica that stays frozen fails check after check and is taken out within a few seconds.
  replicas[0]!.signal('SIGSTOP');
  const usable = async () =>
    Number(
      /^gateway_upstreams\{state="usable"[^}]*\} (\d+)$/m.exec(await (await request(`${gw}/metrics`)).body.text())?.[1],
    );
  const frozenAt = performance.now();
  while ((await usable()) !== 1 && performance.now() - frozenAt < 6_000) await sleep(100);
  const outAfter = performance.now() - frozenAt;
  replicas[0]!.signal('SIGCONT');
  t.ok(outAfter < 3_500, `the frozen replica was marked down after ${outAfter.toFixed(0)} ms (2 checks of 1 s)`);
});

t.test('SIGTERM during in-flight requests: every one of them completes', async (t) => {
  const svc = await startService('monolith', 'monolith-sigterm', opts);
  t.teardown(() => svc.proc.stop());
  const port = Number(new URL(svc.url).port);
  const body = JSON.stringify({ features });
  const half = Math.floor(body.length / 2);
  const N = 50;
  // Each request has sent its headers and half its body: in flight on the server.
  const pending = Array.from({ length: N }, () => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/predict',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    });
    const done = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, half));
    return { req, done };
  });
  await new Promise((r) => setTimeout(r, 300));
  svc.proc.signal('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  t.ok(svc.proc.running, 'server waits for in-flight requests');
  for (const p of pending) p.req.end(body.slice(half));
  const statuses = await Promise.all(pending.map((p) => p.done));
  t.same(statuses, new Array(N).fill(200), 'all in-flight requests answered 200');
  const exit = await svc.proc.exited;
  t.equal(exit.code, 0, 'clean exit after draining');
});

t.test('bad configuration fails at start with one line naming the variable', async (t) => {
  const run = (service: 'monolith' | 'gateway' | 'prediction', env: Record<string, string>) =>
    spawnSync(process.execPath, [serverScript(service)], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const cases: [Parameters<typeof run>[0], Record<string, string>, RegExp][] = [
    ['monolith', { PORT: 'abc' }, /^monolith: invalid environment variable PORT/],
    [
      'prediction',
      { PORT: '0', MODEL_PATH: '/nonexistent/model.json' },
      /^prediction: \/nonexistent\/model.json: cannot read model file \(ENOENT\)/,
    ],
    ['gateway', { PORT: '0' }, /^gateway: invalid environment variable PREDICTION_URLS/],
    [
      'gateway',
      { PORT: '0', PREDICTION_URLS: 'nope' },
      /^gateway: invalid environment variable PREDICTION_URLS: "nope"/,
    ],
  ];
  for (const [service, env, re] of cases) {
    const r = run(service, env);
    t.not(r.status, 0, `${service} exits non-zero`);
    t.match(r.stderr, re);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
});
