import t from 'tap';
import { BaseConfig, loadConfig } from '../src/config.js';
import { runtimePlugin } from '../src/plugin.js';
import { createFastify } from '../src/server.js';

async function build(ready = true) {
  const app = createFastify(loadConfig(BaseConfig, { PORT: '0', LOG_LEVEL: 'silent' }));
  await app.register(runtimePlugin, { service: 'test', replicaId: 'r-1', readiness: () => ({ ready }) });
  app.post(
    '/echo',
    { schema: { body: { type: 'object', additionalProperties: false, properties: { n: { type: 'number' } } } } },
    async (req) => req.body,
  );
  app.get('/boom', async () => {
    throw new Error('secret detail');
  });
  return app;
}

t.test('health, readiness and x-served-by', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  const h = await app.inject({ url: '/healthz' });
  t.equal(h.statusCode, 200);
  t.equal(h.headers['x-served-by'], 'r-1');
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
  const notReady = await build(false);
  t.teardown(() => notReady.close());
  const r = await notReady.inject({ url: '/readyz' });
  t.equal(r.statusCode, 503);
  t.equal(r.json().status, 'not ready');
});

t.test('metrics count requests by route and status', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/echo', payload: { n: 1 } });
  await app.inject({ method: 'POST', url: '/echo', payload: { n: 'x' } });
  const text = (await app.inject({ url: '/metrics' })).body;
  t.match(text, /http_request_duration_seconds_count\{[^}]*route="\/echo"[^}]*status_code="200"[^}]*\} 3/);
  t.match(text, /http_request_duration_seconds_count\{[^}]*route="\/echo"[^}]*status_code="400"[^}]*\} 1/);
  t.match(text, /process_cpu_seconds_total/);
  t.match(text, /le="0.0001"/, 'sub-millisecond buckets');
});

t.test('strict validation: no coercion, no silent stripping; errors are JSON', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  const coerced = await app.inject({ method: 'POST', url: '/echo', payload: { n: '1' } });
  t.equal(coerced.statusCode, 400, 'a numeric string is not a number');
  const extra = await app.inject({ method: 'POST', url: '/echo', payload: { n: 1, m: 2 } });
  t.equal(extra.statusCode, 400);
  t.match(extra.json().message, /additional properties/);
  const nf = await app.inject({ url: '/nope' });
  t.equal(nf.statusCode, 404);
  t.equal(nf.json().error, 'Not Found');
  const boom = await app.inject({ url: '/boom' });
  t.equal(boom.statusCode, 500);
  t.equal(boom.json().message, 'internal error', 'internal detail is not leaked');
});
