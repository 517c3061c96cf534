import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFastify } from '@mlbench/runtime';
import t, { type Test } from 'tap';
import { Agent, request } from 'undici';
import { gatewayApp, loadGatewayConfig } from '../src/app.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/**
 * Which forwarder these tests drive: the lean one (default) or @fastify/http-proxy
 * (app-http-proxy.test.ts runs this file again with GATEWAY_TEST_FORWARDER=http-proxy).
 */
const FORWARDER = process.env.GATEWAY_TEST_FORWARDER ?? 'undici';
t.comment(`FORWARDER=${FORWARDER}`);

/** A real upstream on loopback that answers as `handler` says; requests it saw are counted. */
async function upstream(t: Test, handler: Handler) {
  const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/readyz') return res.end('{"ready":true}');
      seen.push({ headers: req.headers, body: body.toString() });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function gateway(t: Test, urls: string[]) {
  const config = loadGatewayConfig({ PORT: '0', PREDICTION_URLS: urls.join(','), LOG_LEVEL: 'silent', FORWARDER });
  const app = createFastify(config);
  await app.register(gatewayApp, { replicaId: 'gw-test', config });
  t.teardown(() => app.close());
  return app;
}

const predict = (payload: string) => ({
  method: 'POST' as const,
  url: '/predict',
  headers: { 'content-type': 'application/json' },
  payload,
});

t.test('an answer passes through byte for byte, with its status and headers', async (t) => {
  const big = JSON.stringify({ predictions: Array.from({ length: 5000 }, (_, i) => i / 7) });
  const up = await upstream(t, (_req, res, body) => {
    const answer = body.toString().includes('"big"') ? big : '{"prediction":1.5}';
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-served-by': 'prediction-7' });
    res.end(answer);
  });
  const app = await gateway(t, [up.url]);
  const small = await app.inject(predict('{"features":[1,2]}'));
  t.equal(small.statusCode, 200);
  t.equal(small.body, '{"prediction":1.5}');
  t.equal(small.headers['x-served-by'], 'prediction-7', "the replica's x-served-by wins");
  t.equal(small.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(small.headers['content-length'], String(small.rawPayload.length));
  t.equal(up.seen[0]!.body, '{"features":[1,2]}', 'the request body reaches the replica verbatim');
  t.equal(up.seen[0]!.headers['content-type'], 'application/json', 'with its real content type');

  const large = await app.inject(predict('{"big":true}'));
  t.equal(large.statusCode, 200);
  t.equal(large.rawPayload.length, Buffer.byteLength(big), `a ${big.length}-byte answer arrives whole`);
  t.equal(large.body, big);
});

t.test("a replica's 4xx passes through unchanged and ejects nobody", async (t) => {
  const up = await upstream(t, (_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"statusCode":400,"code":"FST_ERR_VALIDATION","message":"body/features must be array"}');
  });
  const app = await gateway(t, [up.url]);
  for (let i = 0; i < 10; i++) {
    const res = await app.inject(predict('{"features":"x"}'));
    t.equal(res.statusCode, 400);
    t.match(res.json(), { code: 'FST_ERR_VALIDATION' });
  }
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /^gateway_upstreams\{state="usable"[^}]*\} 1$/m, 'the replica is still usable');
});

t.test('a replica that breaks off mid-answer: retried on another, else a clean 502', async (t) => {
  const broken = await upstream(t, (_req, res) => {
    // Promise 100 bytes, send 10, then drop the connection.
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"predicti');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  const healthy = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'healthy' });
    res.end('{"prediction":2}');
  });

  const alone = await gateway(t, [broken.url]);
  const res = await alone.inject(predict('{"features":[1]}'));
  t.equal(res.statusCode, 502, 'no other replica: 502');
  t.match(res.json(), { statusCode: 502, error: 'Bad Gateway', code: /UND_ERR_SOCKET|ECONNRESET/ });
  t.equal(res.headers['content-length'], String(res.rawPayload.length), "the broken answer's length is not reused");

  const pair = await gateway(t, [broken.url, healthy.url]);
  const retried = await pair.inject(predict('{"features":[1]}'));
  t.equal(retried.statusCode, 200, 'retried on the other replica');
  t.equal(retried.body, '{"prediction":2}');
  t.equal(retried.headers['x-served-by'], 'healthy');
});

t.test('a shedding replica (503 + Retry-After) hands the request to another', async (t) => {
  const shedding = await upstream(t, (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end('{"statusCode":503,"code":"FST_UNDER_PRESSURE"}');
  });
  const healthy = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"prediction":3}');
  });
  const app = await gateway(t, [shedding.url, healthy.url]);
  // Round robin offers each request to the shedding replica first (the retry moves the cursor
  // past the healthy one); the retry budget's floor is 3 per second.
  for (let i = 0; i < 3; i++) {
    const res = await app.inject(predict('{"features":[1]}'));
    t.equal(res.statusCode, 200);
    t.equal(res.body, '{"prediction":3}');
  }
  t.equal(healthy.seen.length, 3, 'every request ended on the healthy replica');
  t.equal(shedding.seen.length, 3, 'after the shedding one turned it away');
  const spent = await app.inject(predict('{"features":[1]}'));
  t.equal(spent.statusCode, 503, 'with the retry budget spent, the shed answer passes through');
  t.equal(spent.headers['retry-after'], '1', 'with its Retry-After');
  // 20 more with the budget spent: round robin keeps offering it half of them.
  for (let i = 0; i < 20; i++) await app.inject(predict('{"features":[1]}'));
  t.ok(shedding.seen.length >= 14, `it kept its share: ${shedding.seen.length} shed answers in a row`);
  const ready = await app.inject({ url: '/readyz' });
  t.same(
    ready.json().upstreams,
    { known: 2, usable: 2 },
    'overloaded, not ejected (5 in a row of any other 5xx eject)',
  );
});

t.test('a replica that stops gracefully costs clients nothing: its draining 503s go elsewhere', async (t) => {
  /** A real service replica: the runtime's Fastify (drain behaviour included) with a 5 ms route. */
  async function replica(name: string) {
    const app = createFastify(
      loadGatewayConfig({ PORT: '0', PREDICTION_URLS: 'http://127.0.0.1:1', LOG_LEVEL: 'silent' }),
    );
    app.get('/readyz', async () => ({ ready: true }));
    app.post('/predict', async (_request, reply) => {
      await new Promise((r) => setTimeout(r, 5));
      reply.header('x-served-by', name);
      return { prediction: 1 };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    t.teardown(() => app.close());
    return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  }
  const a = await replica('a');
  const b = await replica('b');
  const gw = await gateway(t, [a.url, b.url]);
  const statuses = new Map<number, number>();
  const servedBy = new Map<string, number>();
  // When a began to stop, plus 100 ms for what was in flight (5 ms requests): requests sent
  // after that must all land on b. Not close()'s resolving: with a keep-alive socket the
  // gateway left idle, close() waited out its 60 s keep-alive in one CI run, after the clients
  // had finished, and nothing counted as "after".
  let stoppedAt = Number.POSITIVE_INFINITY;
  // 16 clients in closed loop for 1.5 s (bounded), replica a stopping gracefully after 0.5 s.
  const until = performance.now() + 1_500;
  const client = async () => {
    for (let i = 0; i < 2_000 && performance.now() < until; i++) {
      const sentAt = performance.now();
      const res = await gw.inject(predict('{"features":[1]}'));
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (sentAt > stoppedAt + 100)
        servedBy.set(String(res.headers['x-served-by']), (servedBy.get(String(res.headers['x-served-by'])) ?? 0) + 1);
    }
  };
  setTimeout(() => {
    stoppedAt = performance.now();
    void a.app.close();
  }, 500);
  await Promise.all(Array.from({ length: 16 }, client));
  const total = [...statuses.values()].reduce((x, y) => x + y, 0);
  t.ok(total > 200, `${total} requests sent`);
  t.same([...statuses.keys()], [200], `every request answered 200: ${JSON.stringify([...statuses])}`);
  t.ok((servedBy.get('b') ?? 0) > 50, `requests sent after the stop began: ${JSON.stringify([...servedBy])}`);
  t.same([...servedBy.keys()], ['b'], 'after the stop, all on the live replica');
});

t.test('a replica the gateway forgets takes its metric series with it', async (t) => {
  const ok: Handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"prediction":1}');
  };
  const a = await upstream(t, ok);
  const b = await upstream(t, ok);
  const config = loadGatewayConfig({ PORT: '0', PREDICTION_URLS: `${a.url},${b.url}`, LOG_LEVEL: 'silent', FORWARDER });
  const app = createFastify(config);
  let pool: { setOrigins(origins: string[]): void } | undefined;
  // The pool is decorated inside the gateway's own scope: run the plugin in one we can read.
  await app.register(async (scope) => {
    await gatewayApp(scope, { replicaId: 'gw-test', config });
    pool = scope.upstreams;
  });
  t.teardown(() => app.close());
  for (let i = 0; i < 4; i++) t.equal((await app.inject(predict('{"features":[1]}'))).statusCode, 200);
  const series = async () =>
    (await app.inject({ url: '/metrics' })).body
      .split('\n')
      .filter((l) => l.startsWith('gateway_upstream_requests_total{'));
  t.equal((await series()).length, 2, 'one series per replica');
  // Discovery now sees only b (a was scaled away or replaced by a rolling update).
  pool!.setOrigins([b.url]);
  const left = await series();
  t.equal(left.length, 1);
  t.match(left[0], b.url);
  t.notMatch(left.join('\n'), a.url, 'no series for a replica that is gone');
});

t.test('a saturated replica: health checks still get through, and the queue is bounded', async (t) => {
  const slow: Handler = (_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"prediction":1}');
    }, 1_500);
  };
  const up = await upstream(t, slow);
  const config = loadGatewayConfig({
    FORWARDER,
    PORT: '0',
    PREDICTION_URLS: up.url,
    LOG_LEVEL: 'silent',
    UPSTREAM_CONNECTIONS: '1',
    UPSTREAM_MAX_QUEUE: '2',
    HEALTH_INTERVAL_MS: '100',
    HEALTH_TIMEOUT_MS: '100',
  });
  const app = createFastify(config);
  await app.register(gatewayApp, { replicaId: 'gw-test', config });
  t.teardown(() => app.close());
  // One connection busy for 1.5 s, two more waiting for it: room for three, the rest shed.
  const answers = Promise.all(Array.from({ length: 6 }, () => app.inject(predict('{"features":[1]}'))));
  await new Promise((r) => setTimeout(r, 1_000));
  // Ten checks have run meanwhile, each within 100 ms: on the proxy's one busy connection
  // they would all have timed out and the only replica would be down.
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200, `the replica is still up while every proxy connection is busy: ${ready.body}`);
  t.same(ready.json().upstreams, { known: 1, usable: 1 }, 'the public /readyz gives counts');
  t.notMatch(ready.body, up.url.replace('http://', ''), 'and no internal address');
  const statuses = (await answers).map((r) => r.statusCode);
  t.equal(statuses.filter((s) => s === 200).length, 3, `served: one on the connection, two queued (${statuses})`);
  const shed = (await answers).filter((r) => r.statusCode === 503);
  t.equal(shed.length, 3, 'the rest are shed at once');
  for (const r of shed) {
    t.equal(r.json().code, 'UPSTREAM_QUEUE_FULL');
    t.equal(r.headers['retry-after'], '1');
  }
  const after = await app.inject(predict('{"features":[1]}'));
  t.equal(after.statusCode, 200, `places are given back once answered: ${after.body}`);
});

t.test('READYZ_DETAIL=upstreams lists the replicas, for an operator who asks', async (t) => {
  const up = await upstream(t, (_req, res) => res.end('{}'));
  const config = loadGatewayConfig({
    FORWARDER,
    PORT: '0',
    PREDICTION_URLS: up.url,
    LOG_LEVEL: 'silent',
    READYZ_DETAIL: 'upstreams',
  });
  const app = createFastify(config);
  await app.register(gatewayApp, { replicaId: 'gw-test', config });
  t.teardown(() => app.close());
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.json().upstreams[0].origin, up.url);
});

t.test('through a real listening server: keep-alive clients, hop-by-hop headers, a client that hangs up', async (t) => {
  const up = await upstream(t, (req, res, body) => {
    const slow = body.toString().includes('"slow"');
    setTimeout(
      () => {
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-served-by': 'prediction-1',
          'x-trace': String(req.headers['x-trace'] ?? ''),
        });
        res.end('{"prediction":4}');
      },
      slow ? 300 : 0,
    );
  });
  const app = await gateway(t, [up.url]);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const client = new Agent({ connections: 4 });
  t.teardown(() => client.close());
  const send = (body: string, headers: Record<string, string> = {}) =>
    request(`${base}/predict`, {
      method: 'POST',
      dispatcher: client,
      headers: { 'content-type': 'application/json', ...headers },
      body,
      headersTimeout: 5_000,
    });
  for (let i = 0; i < 20; i++) {
    const res = await send('{"features":[1]}', { 'x-trace': `t${i}` });
    t.equal(res.statusCode, 200);
    t.equal(await res.body.text(), '{"prediction":4}');
    t.equal(res.headers['x-served-by'], 'prediction-1');
    t.equal(res.headers['x-trace'], `t${i}`, 'end-to-end request headers reach the replica');
  }
  // undici's client will not send a Connection list: node:http's will.
  const listed = await new Promise<number | undefined>((resolve, reject) => {
    const req = httpRequest(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'keep-alive, x-private', 'x-private': 'secret' },
      agent: false,
    });
    req.on('response', (res) => res.resume().on('end', () => resolve(res.statusCode)));
    req.on('error', reject);
    req.end('{"features":[1]}');
  });
  t.equal(listed, 200);
  const seen = up.seen.at(-1)!.headers;
  t.equal(seen['x-private'], undefined, 'a header the client named in Connection stops at the gateway');
  t.equal(seen['content-type'], 'application/json');

  // A client that gives up mid-request: the gateway answers nobody, keeps its place until the
  // replica is done, and serves the next request.
  const gone = await request(`${base}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"slow":true}',
    signal: AbortSignal.timeout(50),
  }).then(
    () => 'answered',
    (err: Error) => err.name,
  );
  t.not(gone, 'answered');
  await new Promise((r) => setTimeout(r, 400));
  const after = await send('{"features":[1]}');
  t.equal(after.statusCode, 200, 'the next request is served');
  await after.body.dump();
  const metrics = (await app.inject({ url: '/metrics' })).body;
  t.match(
    metrics,
    /gateway_upstream_requests_total\{upstream="[^"]+",outcome="200"[^}]*\} 23/,
    'every answer counted, the abandoned one too',
  );
});
