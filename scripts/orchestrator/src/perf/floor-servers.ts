/**
 * The floors our services are compared with (make perf): the same model and the same JSON
 * answer, served by a bare node:http server or by a minimal Fastify route — no validation,
 * hooks, metrics or health plumbing; and for the gateway, the least a proxy can do: a bare
 * node:http server relaying each body to one upstream over an undici pool, answer buffered.
 * `node floor-servers.js bare|fastify|proxy`, PORT (and UPSTREAM for proxy) from env.
 */
import { createServer } from 'node:http';
import { DEFAULT_MODEL_PATH, loadModel } from '@mlbench/model';
import Fastify from 'fastify';
import { Pool } from 'undici';

const kind = process.argv[2];
const port = Number(process.env.PORT ?? 0);
const model = await loadModel(process.env.MODEL_PATH ?? DEFAULT_MODEL_PATH);
const info = { name: model.name, version: model.version };
const answer = (features: number[]) => JSON.stringify({ prediction: model.predict(features), model: info });

if (kind === 'proxy') {
  // The gateway's own upstream settings: 128 keep-alive connections, no pipelining.
  const upstream = new Pool(process.env.UPSTREAM ?? '', { connections: 128, pipelining: 1 });
  const server = createServer((req, res) => {
    if (req.url === '/readyz') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      upstream
        .request({
          path: req.url ?? '/',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: Buffer.concat(chunks),
        })
        .then(async (up) => {
          const body = Buffer.from(await up.body.arrayBuffer());
          res.writeHead(up.statusCode, { 'content-type': 'application/json; charset=utf-8' }).end(body);
        })
        .catch(() => void res.writeHead(502).end());
    });
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
  console.error('usage: floor-servers.js bare|fastify|proxy');
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
