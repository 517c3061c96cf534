import t from 'tap';
import type { RunResult } from '../../src/results/index.js';
import { blockPercentiles, decodeBlocks } from '../../src/stats/blocks.js';
import { medianOf, percentileInterval, seededRandom } from '../../src/stats/bootstrap.js';
import { encodeHistogram, mergeHistograms, newHistogram } from '../../src/stats/histogram.js';
import { intervalOf, replicatesOf } from '../../src/stats/intervals.js';

/** Exponential latencies (mean `meanMs`), as µs, from a seeded generator. */
function exponentialUs(n: number, meanMs: number, random: () => number): number[] {
  return Array.from({ length: n }, () => Math.max(1, Math.round(-Math.log(1 - random()) * meanMs * 1000)));
}

/** A trial as the summary sees it: recorded percentiles and 250 ms blocks of the same values. */
function trial(valuesUs: number[], blocks: number, cpu = 0.2): RunResult {
  const per = Math.ceil(valuesUs.length / blocks);
  const encoded: string[] = [];
  for (let k = 0; k < blocks; k++) {
    const h = newHistogram();
    for (const v of valuesUs.slice(k * per, (k + 1) * per)) h.recordValue(v);
    encoded.push(encodeHistogram(h));
  }
  const all = mergeHistograms(encoded);
  const at = (p: number) => Math.round(all.getValueAtPercentile(p)) / 1000;
  return {
    latencyMs: { min: 0, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: 0, mean: 0 },
    achievedRps: 1000,
    resources: { servers: { cpuSeconds: 1, cpuSecondsPer1kRequests: cpu, cpuCores: 0.5, rssMaxMB: 50 } },
    latencyBlocks: { blockMs: 250, histograms: encoded },
  } as unknown as RunResult;
}

const binomial = (n: number, k: number): number => (k === 0 ? 1 : (binomial(n, k - 1) * (n - k + 1)) / k);

t.test('merged blocks give exactly the percentiles HdrHistogram gives', async (t) => {
  const random = seededRandom(7);
  const encoded = Array.from({ length: 6 }, (_, k) => {
    const h = newHistogram();
    for (const v of exponentialUs(500 + k * 100, 0.5 + k * 0.3, random)) h.recordValue(v);
    return encodeHistogram(h);
  });
  const set = decodeBlocks(encoded);
  for (const picks of [[0, 1, 2, 3, 4, 5], [5, 5, 1, 0, 0, 2], [3]]) {
    const h = mergeHistograms(picks.map((k) => encoded[k]!));
    const ps = [50, 90, 99, 99.9];
    t.same(
      blockPercentiles(set, picks, ps),
      ps.map((p) => h.getValueAtPercentile(p) / 1000),
      `picks ${picks.join(',')}`,
    );
  }
  t.same(blockPercentiles(set, [], [50]), [0], 'nothing picked: 0, never NaN');
});

t.test('the percentile bootstrap of a median: the exact answer for 9 values', async (t) => {
  // The bootstrap median of 9 draws is ≤ x(k) with probability P(Binomial(9, k/9) ≥ 5):
  // 0.14 % for k = 1 and 3.0 % for k = 2, so the 2.5 % point is x(2), the 97.5 % point x(8).
  const tail = (k: number) => {
    let s = 0;
    for (let j = 5; j <= 9; j++) s += binomial(9, j) * (k / 9) ** j * (1 - k / 9) ** (9 - j);
    return s;
  };
  t.ok(tail(1) < 0.025 && tail(2) > 0.025, `P = ${tail(1).toFixed(4)}, ${tail(2).toFixed(4)}`);
  const runs = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((v) => ({ ...trial([v * 1000], 1), achievedRps: v }) as RunResult);
  const reps = replicatesOf(runs, 'nine');
  t.equal(reps.achievedRps?.method, 'bootstrap-trials', '5 trials or more: trials are resampled');
  const ci = intervalOf(reps.achievedRps!);
  t.same([ci.lo, ci.hi], [2, 8]);
  t.equal(reps.achievedRps?.point, 5);
  t.same(percentileInterval([1, 2, 3, 4, 5], 0.5), { lo: 2, hi: 4 }, 'quantiles of sorted replicates');
  t.equal(medianOf([3, 1, 2, 4]), 2.5);
});

t.test('block bootstrap of p50 and p99 against the order-statistic interval', async (t) => {
  // i.i.d. exponential latencies (mean 1 ms): the blocks are independent, so the bootstrap
  // interval must match the distribution-free one: ranks n·p ± 1.96·√(n·p·(1−p)).
  const n = 20_000;
  const values = exponentialUs(n, 1, seededRandom(11));
  const sorted = [...values].sort((a, b) => a - b);
  const reps = replicatesOf([trial(values, 40)], 'iid');
  for (const [figure, p, truth] of [
    ['p50Ms', 0.5, Math.LN2],
    ['p99Ms', 0.99, Math.log(100)],
  ] as const) {
    const ci = intervalOf(reps[figure]!);
    t.equal(ci.method, 'bootstrap-blocks');
    t.equal(ci.units, 40);
    const half = 1.96 * Math.sqrt(n * p * (1 - p));
    const lo = sorted[Math.floor(n * p - half)]! / 1000;
    const hi = sorted[Math.ceil(n * p + half)]! / 1000;
    const width = hi - lo;
    t.ok(
      Math.abs(ci.lo - lo) < 0.3 * width && Math.abs(ci.hi! - hi) < 0.3 * width,
      `${figure} ${ci.lo}–${ci.hi} vs ${lo}–${hi}`,
    );
    t.ok(ci.lo <= truth && truth <= ci.hi!, `${figure} interval holds the true ${truth.toFixed(3)} ms`);
  }
  t.notOk(reps.cpuSecondsPer1k, 'one trial: no interval for CPU (measured per trial)');
});

t.test('coverage: about 95 % of the intervals hold the true median', async (t) => {
  const random = seededRandom(3);
  let covered = 0;
  const tries = 200;
  for (let i = 0; i < tries; i++) {
    const reps = replicatesOf([trial(exponentialUs(800, 1, random), 8)], `cov${i}`, 400);
    const ci = intervalOf(reps.p50Ms!);
    if (ci.lo <= Math.LN2 && Math.LN2 <= ci.hi!) covered++;
  }
  t.ok(covered / tries >= 0.88 && covered / tries <= 0.99, `coverage ${covered}/${tries}`);
});

t.test('too few blocks, or none (k6): no interval rather than a made-up one', async (t) => {
  t.same(replicatesOf([trial([1000, 2000, 3000], 3)], 'few'), {});
  const noBlocks = { ...trial([1000], 1), latencyBlocks: undefined } as RunResult;
  t.same(replicatesOf([noBlocks], 'k6'), {});
  t.same(replicatesOf([], 'none'), {});
});
