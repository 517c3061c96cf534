// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Client } from 'undici';
import { BaseConfig, loadConfig } from '../src/config.js';
import { createFastify } from '../src/server.js';

t.test('a request that reaches a draining server is shed with Retry-After (a balancer may retry it)', async (t) => {
  const app = createFastify(loadConfig(BaseConfig, { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' }));
  app.get('/slow', async () => {
    await sleep(400);
    return { ok: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  // Two requests pipelined on one connection: the second is parsed only once the first is
  // answered, which is after the server has begun to close.
  const client = new Client(`http://127.0.0.1:${port}`, { pipelining: 2 });
  t.teardown(() => client.destroy());
  const first = client.request({ path: '/slow', method: 'GET' });
  const second = client.request({ path: '/slow', method: 'GET' });
  await sleep(100);
  const closed = app.close();
  const a = await first;
  t.equal(a.statusCode, 200, 'the request in flight is served');
  await a.body.dump();
  const b = await second;
  await b.body.dump();
  t.equal(b.statusCode, 503, 'the next one is refused while draining');
  t.equal(b.headers['retry-after'], '0', 'with Retry-After, so it counts as shed, not failed');
  t.equal(b.headers.connection, 'close', 'and Connection: close: a balancer reads it as draining');
  await closed;
});
