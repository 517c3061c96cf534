import t, { type Test } from 'tap';
import { Agent } from 'undici';
import { classifyUpstreamError, RetryBudget, UpstreamPool, type UpstreamState } from '../src/index.js';

t.test('round robin skips ejected replicas and readmits them after a good check', async (t) => {
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const pool = new UpstreamPool({ dispatcher, healthIntervalMs: 1000, healthTimeoutMs: 200 });
  pool.setOrigins(['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']);
  t.same(
    Array.from({ length: 6 }, () => pool.pick()?.origin),
    [
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
      'http://127.0.0.1:3',
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
      'http://127.0.0.1:3',
    ],
  );
  pool.reportConnectFailure(pool.find('http://127.0.0.1:2')!, 'ECONNREFUSED');
  t.equal(pool.usableCount(), 2);
  const picks = new Set(Array.from({ length: 4 }, () => pool.pick()?.origin));
  t.notOk(picks.has('http://127.0.0.1:2'), 'ejected replica gets no traffic');
  // Nothing listens on these ports: the active check marks them all unhealthy.
  await pool.checkAll();
  t.equal(pool.usableCount(), 0);
  t.equal(pool.pick(), undefined);
  pool.setOrigins(['http://127.0.0.1:3', 'http://127.0.0.1:4']);
  t.equal(pool.all.length, 2, 'DNS update replaces the set');
  t.equal(pool.all[0]!.healthy, false, 'known replica keeps its state');
  t.equal(pool.all[1]!.healthy, true, 'new replica starts optimistic');
});

t.test('upstream failures map to 502 / 504', async (t) => {
  const wrap = (code: string) => ({ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', cause: { code } });
  t.equal(classifyUpstreamError(wrap('ECONNREFUSED')).status, 502);
  t.equal(classifyUpstreamError(wrap('ECONNREFUSED')).connectionFailure, true);
  t.equal(classifyUpstreamError(wrap('UND_ERR_SOCKET')).status, 502);
  t.equal(classifyUpstreamError(wrap('UND_ERR_HEADERS_TIMEOUT')).status, 504);
  t.equal(classifyUpstreamError(wrap('UND_ERR_CONNECT_TIMEOUT')).status, 504);
  t.equal(classifyUpstreamError(wrap('UND_ERR_HEADERS_TIMEOUT')).connectionFailure, false);
});

t.test('outlier ejection: back-off doubles, never the last replica, 5xx streaks count', async (t) => {
  const { pool, clock } = clockedPool(t, 0);
  const [a, b] = pool.all as [UpstreamState, UpstreamState];
  pool.reportConnectFailure(a, 'ECONNREFUSED');
  t.notOk(pool.isUsable(a), 'ejected at once on a refused connection');
  pool.reportConnectFailure(b, 'ECONNREFUSED');
  t.ok(pool.isUsable(b), 'the last usable replica is never ejected');
  clock.now = 1001;
  t.ok(pool.isUsable(a), 'back after the first back-off (1 s)');
  pool.reportConnectFailure(a, 'ECONNREFUSED');
  clock.now = 2002;
  t.notOk(pool.isUsable(a), 'second ejection in a row lasts 2 s');
  clock.now = 3002;
  t.ok(pool.isUsable(a));
  pool.reportStatus(a, 200);
  pool.reportStatus(a, 500);
  pool.reportStatus(a, 503);
  t.ok(pool.isUsable(a), 'two 5xx in a row: still in');
  pool.reportStatus(a, 502);
  t.notOk(pool.isUsable(a), 'third 5xx in a row: ejected');
});

t.test('retry budget: a share of recent requests, with a floor', async (t) => {
  let now = 0;
  const budget = new RetryBudget(0.2, 3, () => now);
  for (let i = 0; i < 100; i++) budget.recordRequest();
  let granted = 0;
  while (budget.tryAcquire()) granted++;
  t.equal(granted, 20, '20% of 100 requests');
  now = 1000;
  // A failure burst just after the window rolls over still gets the recent rate's budget.
  granted = 0;
  while (budget.tryAcquire()) granted++;
  t.equal(granted, 20);
  now = 5000;
  granted = 0;
  while (budget.tryAcquire()) granted++;
  t.equal(granted, 3, 'after a quiet spell: the floor');
});

t.test('slow start: a returning replica gets a growing share of the picks', async (t) => {
  const { pool, clock } = clockedPool(t, 2000, () => 0.5);
  const a = pool.all[0]!;
  pool.reportConnectFailure(a, 'ECONNREFUSED');
  clock.now = 1001; // ejection over, slow start begins: share ≈ 10%
  const early = Array.from({ length: 4 }, () => pool.pick()?.origin);
  t.notOk(early.includes('http://a:1'), 'at first it is mostly passed over');
  clock.now = 2700; // share ≈ 85%
  const later = Array.from({ length: 4 }, () => pool.pick()?.origin);
  t.ok(later.includes('http://a:1'), 'later it takes its turn again');
});

t.test('slow start never refuses a request only a warming replica can take', async (t) => {
  const { pool, clock } = clockedPool(t, 2000, () => 0.5);
  const [a, b] = pool.all as [UpstreamState, UpstreamState];
  pool.reportConnectFailure(a, 'ECONNREFUSED');
  clock.now = 1001; // a is back and warming (share ≈ 10%) ...
  for (let i = 0; i < 3; i++) pool.reportStatus(b, 503); // ... when b is ejected for 5xx in a row
  t.equal(pool.usableCount(), 1, 'one usable replica, and it is warming');
  const picks = Array.from({ length: 10 }, () => pool.pick()?.origin);
  t.same(picks, Array(10).fill(a.origin), 'it takes every request: none is refused as if no replica were usable');
  t.equal(pool.pick(a), undefined, 'nothing else to retry on');
});

/** A pool on a manual clock, for the policy tests (no traffic, no health checks run). */
function clockedPool(t: Test, slowStartMs: number, random?: () => number) {
  const clock = { now: 0 };
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const pool = new UpstreamPool({
    dispatcher,
    healthIntervalMs: 1000,
    healthTimeoutMs: 100,
    outlier: {
      consecutiveConnectFailures: 1,
      consecutive5xx: 3,
      baseEjectionMs: 1000,
      maxEjectionMs: 4000,
      slowStartMs,
    },
    now: () => clock.now,
    ...(random ? { random } : {}),
  });
  pool.setOrigins(['http://a:1', 'http://b:1']);
  return { pool, clock };
}
