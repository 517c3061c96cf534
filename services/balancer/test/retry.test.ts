import t from 'tap';
import { Agent } from 'undici';
import { Balancer, describePolicy, RetryBudget, shedKind, UpstreamPool } from '../src/index.js';

const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

function balancer(origins: string[], budget = new RetryBudget(0.2, 3, () => 0)) {
  const dispatcher = new Agent();
  const pool = new UpstreamPool({ dispatcher, healthIntervalMs: 1000, healthTimeoutMs: 100, random: () => 0 });
  pool.setOrigins(origins);
  return { b: new Balancer(pool, budget), pool, close: () => dispatcher.close() };
}

const wrapped = (code: string) => ({ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', cause: { code } });

t.test('a shed answer (503 + Retry-After) is retried once, elsewhere', async (t) => {
  const { b, close } = balancer([A, B]);
  t.teardown(close);
  const first = b.begin()!;
  t.equal(first.origin, A);
  const retry = b.answered(first, 503, 'overload', false);
  t.equal(retry?.origin, B, 'the other replica');
  t.equal(b.answered(retry!, 503, 'overload', true), undefined, 'never a second retry');
  t.equal(b.answered(b.begin()!, 503, undefined, false), undefined, 'a 503 without Retry-After did work: not retried');
  t.equal(b.answered(b.begin()!, 500, undefined, false), undefined, 'a 500 is not retried');
  t.equal(b.answered(b.begin()!, 200, undefined, false), undefined);
});

t.test('connection failures are retried and eject; timeouts are neither', async (t) => {
  // A budget of every request: this test is about which failures are retried, not how many.
  const { b, pool, close } = balancer([A, B], new RetryBudget(1, 100, () => 0));
  t.teardown(close);
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']) {
    pool.setOrigins([]);
    pool.setOrigins([A, B]);
    const u = b.begin()!;
    const { failure, retry } = b.failed(u, wrapped(code), false);
    t.equal(failure.code, code, `${code}: counted under its own code`);
    t.equal(failure.status, 502);
    t.ok(retry && retry !== u, `${code}: retried on the other replica`);
    t.notOk(pool.isUsable(u), `${code}: the failed replica is ejected`);
  }
  pool.setOrigins([]);
  pool.setOrigins([A, B]);
  const u = b.begin()!;
  const timeout = b.failed(u, wrapped('UND_ERR_HEADERS_TIMEOUT'), false);
  t.equal(timeout.failure.status, 504);
  t.equal(timeout.retry, undefined, 'a timeout is not retried (it may still be computing)');
  t.ok(pool.isUsable(u), 'nor does it eject');
});

t.test('a lone replica never spends the budget; a spent budget stops retries', async (t) => {
  const budget = new RetryBudget(0.2, 3, () => 0);
  const lone = balancer([A], budget);
  t.teardown(lone.close);
  for (let i = 0; i < 10; i++) t.equal(lone.b.answered(lone.b.begin()!, 503, 'overload', false), undefined);
  t.ok(budget.tryAcquire(), 'looking for another replica comes before spending the budget');

  const two = balancer([A, B], new RetryBudget(0, 3, () => 0));
  t.teardown(two.close);
  const retried = Array.from({ length: 5 }, () => two.b.answered(two.b.begin()!, 503, 'overload', false));
  t.equal(retried.filter(Boolean).length, 3, 'the floor of 3 retries per window, then none');
});

t.test('the policy sentence is built from the numbers in force', async (t) => {
  t.match(describePolicy(), /every 1 s.*5 consecutive 5xx.*budget 20%/);
  t.match(
    describePolicy({ healthIntervalMs: 2000, consecutive5xx: 3, retryBudgetRatio: 0.1 }),
    /every 2 s.*3 consecutive.*10%/,
  );
});

t.test('shedding never ejects; a 5xx streak still does', async (t) => {
  const { b, pool, close } = balancer([A, B], new RetryBudget(1, 100, () => 0));
  t.teardown(close);
  const a = pool.find(A)!;
  for (let i = 0; i < 20; i++) b.answered(a, 503, 'overload', false);
  t.ok(pool.isUsable(a), '20 shed answers in a row: still in the pool (it is overloaded, not broken)');
  for (let i = 0; i < 5; i++) b.answered(a, 500, undefined, false);
  t.notOk(pool.isUsable(a), '5 errors in a row eject');
});

t.test('a draining replica is down at once and its request goes elsewhere; overload is not', async (t) => {
  const { b, pool, close } = balancer([A, B], new RetryBudget(1, 100, () => 0));
  t.teardown(close);
  const a = pool.find(A)!;
  const retry = b.answered(a, 503, 'draining', false);
  t.equal(retry?.origin, B, 'retried on the other replica');
  t.notOk(pool.isUsable(a), 'the draining replica takes no more picks');
  for (let i = 0; i < 5; i++) t.equal(b.begin()?.origin, B, `pick ${i}: the live replica`);
  t.equal(pool.usableCount(), 1);
});

t.test('shedKind: Retry-After makes a 503 shed; Connection: close makes it draining', async (t) => {
  t.equal(shedKind(503, '1', undefined), 'overload');
  t.equal(shedKind(503, '1', 'keep-alive'), 'overload');
  t.equal(shedKind(503, '0', 'close'), 'draining');
  t.equal(shedKind(503, '0', 'Close'), 'draining', 'header values are case-insensitive');
  t.equal(shedKind(503, undefined, 'close'), undefined, 'no Retry-After: an ordinary 5xx that may have done work');
  t.equal(shedKind(503, undefined, undefined), undefined);
  t.equal(shedKind(500, '1', 'close'), undefined, 'only a 503 is shed');
  t.equal(shedKind(200, undefined, 'close'), undefined);
});
