import t from 'tap';
import { searchCapacity } from '../src/capacity.js';
import type { CapacityProbe } from '../src/results.js';

// The search logic alone, against an exact pass/fail rule (the real-server version is in driver.test.ts).
const rule = (limit: number, flaky = new Set<number>()) => {
  const seen = new Map<number, number>();
  return async (rate: number): Promise<CapacityProbe> => {
    const n = (seen.get(rate) ?? 0) + 1;
    seen.set(rate, n);
    const pass = rate <= limit && !(flaky.has(rate) && n === 1);
    return { rateRps: rate, achievedRps: rate, p99Ms: pass ? 1 : 100, errorRate: 0, dropped: 0, pass };
  };
};

t.test('doubles, then bisects to the tolerance', async (t) => {
  const r = await searchCapacity(rule(3000), {
    startRps: 500,
    minRps: 10,
    maxRps: 100_000,
    maxProbes: 20,
    tolerance: 0.05,
  });
  t.ok(r.rateRps <= 3000 && r.rateRps >= 3000 / 1.05, `found ${r.rateRps}`);
  t.ok(r.failedAtRps! > 3000 && r.failedAtRps! / r.rateRps <= 1.05, 'bracket within 5%');
  t.same(
    r.probes.slice(0, 4).map((p) => p.rateRps),
    [500, 1000, 2000, 4000],
    'doubling phase',
  );
});

t.test('halves when the start rate already fails', async (t) => {
  const r = await searchCapacity(rule(120), {
    startRps: 1000,
    minRps: 10,
    maxRps: 100_000,
    maxProbes: 20,
    tolerance: 0.05,
  });
  t.ok(r.rateRps <= 120 && r.rateRps >= 114, `found ${r.rateRps}`);
  const none = await searchCapacity(rule(5), {
    startRps: 100,
    minRps: 10,
    maxRps: 1000,
    maxProbes: 20,
    tolerance: 0.05,
  });
  t.equal(none.rateRps, 0, 'nothing passes above the floor: capacity 0');
});

t.test('stops at the probe budget and at maxRps, reporting a lower bound', async (t) => {
  const r = await searchCapacity(rule(1e9), {
    startRps: 1000,
    minRps: 10,
    maxRps: 8000,
    maxProbes: 20,
    tolerance: 0.05,
  });
  t.equal(r.rateRps, 8000);
  t.equal(r.failedAtRps, null, 'never failed: a lower bound');
  const budget = await searchCapacity(rule(3000), {
    startRps: 500,
    minRps: 10,
    maxRps: 1e5,
    maxProbes: 3,
    tolerance: 0.05,
  });
  t.equal(budget.probes.length, 3);
});

t.test('a single noisy failure is re-probed when asked to confirm', async (t) => {
  const opts = { startRps: 1000, minRps: 10, maxRps: 1e5, maxProbes: 30, tolerance: 0.05 };
  const naive = await searchCapacity(rule(6000, new Set([2000])), opts);
  t.ok(naive.rateRps < 2000, `without confirmation one blip caps the result at ${naive.rateRps}`);
  const confirmed = await searchCapacity(rule(6000, new Set([2000])), { ...opts, confirmFailures: true });
  t.ok(confirmed.rateRps >= 6000 / 1.05, `with confirmation: ${confirmed.rateRps}`);
  t.equal(confirmed.probes.filter((p) => p.rateRps === 2000).length, 2, 'the blip was probed twice');
});
