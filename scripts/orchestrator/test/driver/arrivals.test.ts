import t from 'tap';
import { arrivals, expectedArrivals } from '../../src/driver/arrivals.js';
import { parseDuration } from '../../src/sys/duration.js';

t.test('constant arrivals are evenly spaced and exactly counted', async (t) => {
  const times = [
    ...arrivals({ executor: 'constant-arrival-rate', ratePerMs: 0.5, durationMs: 1000, arrival: 'constant', seed: 1 }),
  ];
  t.equal(times.length, 500);
  t.equal(times[0], 0);
  t.ok(
    times.every((x, i) => Math.abs(x - i * 2) < 1e-9),
    'every 2 ms',
  );
});

t.test('Poisson arrivals: seeded, right mean rate, exponential gaps', async (t) => {
  const spec = {
    executor: 'constant-arrival-rate' as const,
    ratePerMs: 1,
    durationMs: 20_000,
    arrival: 'poisson' as const,
    seed: 9,
  };
  const a = [...arrivals(spec)];
  const b = [...arrivals(spec)];
  t.same(a, b, 'same seed, same schedule');
  t.not([...arrivals({ ...spec, seed: 10 })][5], a[5], 'another seed, another schedule');
  t.ok(Math.abs(a.length - 20_000) < 20_000 * 0.03, `count ${a.length} ≈ 20000`);
  const gaps = a.slice(1).map((x, i) => x - a[i]!);
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  const variance = gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length;
  t.ok(Math.abs(Math.sqrt(variance) / mean - 1) < 0.05, 'coefficient of variation ≈ 1 (exponential)');
});

t.test('ramping arrivals follow the integral of the rate (k6 semantics)', async (t) => {
  const spec = {
    executor: 'ramping-arrival-rate' as const,
    startRatePerMs: 0.1,
    stages: [
      { targetPerMs: 1, durationMs: 2000 },
      { targetPerMs: 1, durationMs: 1000 },
    ],
    durationMs: 3000,
    arrival: 'constant' as const,
    seed: 1,
  };
  const times = [...arrivals(spec)];
  t.equal(expectedArrivals(spec), 1100 + 1000);
  t.ok(Math.abs(times.length - 2100) <= 2, `count ${times.length}`);
  const firstSecond = times.filter((x) => x < 1000).length;
  const lastSecond = times.filter((x) => x >= 2000).length;
  t.ok(firstSecond < 600 && lastSecond === 1000, `ramp: ${firstSecond} in the first second, ${lastSecond} in the last`);
});

t.test('durations parse like k6', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('10s'), 10_000);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('0.5s'), 500);
  t.throws(() => parseDuration('10'), /not a duration/);
  t.throws(() => parseDuration('5 s'), /not a duration/);
  t.throws(() => parseDuration('s'), /not a duration/);
});
