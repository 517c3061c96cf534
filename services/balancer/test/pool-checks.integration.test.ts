import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { Agent } from 'undici';
import { UpstreamPool, type UpstreamState } from '../src/index.js';

t.test('active checks: one late answer is not a verdict; a refusal or a 503 is', async (t) => {
  // /readyz answers 200, or hangs past the check timeout, or answers 503: as `mode` says.
  let mode: 'ok' | 'hang' | 'unready' = 'ok';
  const server = createServer((_req, res) => {
    if (mode === 'hang') setTimeout(() => res.end('late'), 300);
    else res.writeHead(mode === 'ok' ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pool = new UpstreamPool({ dispatcher, healthIntervalMs: 1000, healthTimeoutMs: 100 });
  pool.setOrigins([origin, 'http://127.0.0.1:1']);
  const [stalled, refused] = pool.all as [UpstreamState, UpstreamState];

  mode = 'hang';
  await pool.checkAll();
  t.ok(stalled.healthy, 'a timed-out check alone leaves the replica in');
  t.notOk(refused.healthy, 'a refused connection takes the replica out at once');
  mode = 'ok';
  await pool.checkAll();
  mode = 'hang';
  await pool.checkAll();
  t.ok(stalled.healthy, 'a good check in between starts the count again');
  await pool.checkAll();
  t.notOk(stalled.healthy, 'the second timeout in a row takes it out');
  t.match(stalled.lastError ?? '', /timeout|aborted/i, 'and says why');
  mode = 'ok';
  await pool.checkAll();
  t.ok(stalled.healthy, 'back after one good check');
  mode = 'unready';
  await pool.checkAll();
  t.notOk(stalled.healthy, '/readyz answering 503 (draining) takes it out at once');

  const strict = new UpstreamPool({ dispatcher, healthIntervalMs: 1000, healthTimeoutMs: 100, unhealthyThreshold: 1 });
  strict.setOrigins([origin]);
  mode = 'hang';
  await strict.checkAll();
  t.notOk(strict.all[0]!.healthy, 'a threshold of 1 restores the old rule');
});
