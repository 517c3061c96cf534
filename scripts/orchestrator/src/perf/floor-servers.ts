/**
 * The floors our services are compared with (make perf): the same model and the same JSON
 * answer, served by a bare node:http server or by a minimal Fastify route — no validation,
 * hooks, metrics or health plumbing; and for the gateway, the least a proxy can do: a bare
 * node:http server relaying each body to one upstream over an undici pool, answer buffered,
 * through undici's request API (proxy) or its leaner dispatch API (proxy-dispatch).
 * `node floor-servers.js bare|fastify|proxy|proxy-dispatch`, PORT (and UPSTREAM) from env.
 */
import { createServer, type ServerResponse } from 'node:http';
import { DEFAULT_MODEL_PATH, loadModel } from '@mlbench/model';
import Fastify from 'fastify';
import { Pool } from 'undici';

const kind = process.argv[2];
const port = Number(process.env.PORT ?? 0);
const model = await loadModel(process.env.MODEL_PATH ?? DEFAULT_MODEL_PATH);
const info = { name: model.name, version: model.version };
const answer = (features: number[]) => JSON.stringify({ prediction: model.predict(features), model: info });
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };

/** undici's request API, the answer read whole from its body stream (the "minimal proxy"). */
function relayByRequest(upstream: Pool, path: string, body: Buffer, res: ServerResponse) {
  upstream
    .request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body })
    .then(async (up) => res.writeHead(up.statusCode, JSON_TYPE).end(Buffer.from(await up.body.arrayBuffer())))
    .catch(() => void res.writeHead(502).end());
}

/**
 * undici's dispatch API, the answer collected from its callbacks: request() wraps each answer
 * in a stream and an async resource, which cost about 10 µs a request here (make perf). The
 * least a proxy on undici can do, and the API our gateway's lean forwarder uses.
 */
function relayByDispatch(upstream: Pool, path: string, body: Buffer, res: ServerResponse) {
  const answer: Buffer[] = [];
  let status = 502;
  upstream.dispatch(
    { path, method: 'POST', headers: { 'content-type': 'application/json' }, body },
    {
      onConnect() {},
      onHeaders(statusCode) {
        status = statusCode;
        return true;
      },
      onData(chunk) {
        answer.push(chunk);
        return true;
      },
      onComplete() {
        res.writeHead(status, JSON_TYPE).end(Buffer.concat(answer));
      },
      onError() {
        res.writeHead(502).end();
      },
    },
  );
}

if (kind === 'proxy' || kind === 'proxy-dispatch') {
  // The gateway's own upstream settings: 128 keep-alive connections, no pipelining.
  const upstream = new Pool(process.env.UPSTREAM ?? '', { connections: 128, pipelining: 1 });
  const relay = kind === 'proxy' ? relayByRequest : relayByDispatch;
  const server = createServer((req, res) => {
    if (req.url === '/readyz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => relay(upstream, req.url ?? '/', Buffer.concat(chunks), res));
  });
  server.keepAliveTimeout = 72_000;
  server.listen(port, '127.0.0.1');
} else if (kind === 'bare') {
  const server = createServer((req, res) => {
    if (req.url === '/readyz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = answer(JSON.parse(Buffer.concat(chunks).toString('utf8')).features);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    });
  });
  server.keepAliveTimeout = 72_000;
  server.listen(port, '127.0.0.1');
} else if (kind === 'fastify') {
  const app = Fastify({ logger: false, keepAliveTimeout: 72_000 });
  app.get('/readyz', async () => ({}));
  app.post('/predict', async (request, reply) => {
    reply.type('application/json; charset=utf-8');
    return answer((request.body as { features: number[] }).features);
  });
  await app.listen({ port, host: '127.0.0.1' });
} else {
  console.error('usage: floor-servers.js bare|fastify|proxy|proxy-dispatch');
  process.exit(2);
}
// Gone with the harness that started it.
const parent = Number(process.env.MLBENCH_PARENT_PID);
if (parent)
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
