import t from 'tap';
import {
  deterministic,
  exponential,
  type Sampler,
  sampleTable,
  tableFromBuckets,
} from '../../src/planner/distribution.js';
import { type TopologyInput, workloadsOf } from '../../src/planner/inputs.js';
import { readPrices } from '../../src/planner/prices.js';
import { erlangC, md1, mm1, mmc } from '../../src/planner/queueing.js';
import { simulate } from '../../src/planner/simulate.js';
import { cheapest, type FeasiblePlan, type TopologyPlan } from '../../src/planner/size.js';
import { predictedCapacity, saturationRps } from '../../src/planner/stations.js';
import { combineValidations, validate } from '../../src/planner/validate.js';
import type { ResultsFile } from '../../src/results/index.js';
import { seededRandom } from '../../src/stats/bootstrap.js';
import { encodeHistogram, newHistogram } from '../../src/stats/histogram.js';

const near = (t: { ok: (v: boolean, m: string) => unknown }, got: number, want: number, tol: number, what: string) =>
  t.ok(
    Math.abs(got - want) <= tol * Math.abs(want),
    `${what}: ${got.toFixed(4)} within ${tol * 100} % of ${want.toFixed(4)}`,
  );

// Erlang C from its textbook sum (no recursion), to check the recursion against.
function erlangCBySum(c: number, a: number): number {
  let fact = 1;
  let sum = 0;
  for (let k = 0; k < c; k++) {
    if (k > 0) fact *= k;
    sum += a ** k / fact;
  }
  const top = (a ** c / (fact * c)) * (c / (c - a));
  return top / (sum + top);
}

t.test('closed forms: Erlang C, M/M/1, M/D/1 against independent derivations', async (t) => {
  near(t, erlangC(1, 0.6), 0.6, 1e-12, 'M/M/1: an arrival waits with probability ρ');
  near(t, erlangC(2, 1), 1 / 3, 1e-12, 'M/M/2 at a = 1: 1/3 by hand');
  for (const [c, a] of [
    [4, 3.2],
    [10, 8],
    [50, 45],
  ] as const)
    near(t, erlangC(c, a), erlangCBySum(c, a), 1e-9, `Erlang C(${c}, ${a}) = the sum form`);
  t.throws(() => mmc(5, 1, 4), /unstable/);
  const q = mm1(0.8, 1);
  near(t, q.meanWait, 4, 1e-12, 'M/M/1 mean wait ρ/(μ−λ)');
  near(t, q.responseQuantile(0.99), Math.log(100) / 0.2, 1e-12, 'M/M/1 p99 response');
  // M/D/1: the exact CDF's mean (∫ 1 − F) must equal Pollaczek–Khinchine's.
  const d = md1(0.7, 1);
  near(t, d.waitCdf(0), 0.3, 1e-12, 'M/D/1: P(W = 0) = 1 − ρ');
  let integral = 0;
  const step = 0.001;
  for (let x = step / 2; x < 40; x += step) integral += (1 - d.waitCdf(x)) * step;
  near(t, integral, d.meanWait, 0.005, 'M/D/1: ∫(1 − F) = ρd/2(1 − ρ)');
  t.ok(d.waitCdf(d.waitQuantile(0.9)) >= 0.9 - 1e-9, 'quantile inverts the CDF');
});

/** One station of `replicas` single servers, mean occupancy 1 ms unless the sampler says otherwise. */
function oneStation(o: {
  rateRps: number;
  occupancy: Sampler;
  meanMs?: number;
  replicas?: number;
  dispatch?: 'round-robin' | 'shared-queue';
  arrival?: 'poisson' | 'constant';
  requests: number;
  seed?: number;
  countService?: boolean;
}) {
  return simulate({
    rateRps: o.rateRps,
    arrival: o.arrival ?? 'poisson',
    stations: [
      {
        name: 's',
        replicas: o.replicas ?? 1,
        servers: 1,
        occupancy: o.occupancy,
        meanOccupancyMs: o.meanMs ?? 1,
        dispatch: o.dispatch ?? 'round-robin',
      },
    ],
    requests: o.requests,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.countService ? { countService: true } : {}),
  });
}

t.test('the simulator reproduces M/M/1, M/M/c and M/D/1 (400,000 requests; ±5 %)', async (t) => {
  const n = 400_000;
  // Rates per ms in the closed forms; the simulator takes req/s.
  const mm1sim = oneStation({ rateRps: 800, occupancy: exponential(1), requests: n, countService: true, seed: 7 });
  const q = mm1(0.8, 1);
  near(t, mm1sim.stations[0]!.meanWaitMs, q.meanWait, 0.05, 'M/M/1 mean wait');
  near(t, mm1sim.p99Ms, q.responseQuantile(0.99), 0.05, 'M/M/1 p99 response');
  near(t, mm1sim.p50Ms, q.responseQuantile(0.5), 0.05, 'M/M/1 p50 response');
  near(t, mm1sim.stations[0]!.utilization, 0.8, 1e-9, 'utilization λ/μ');

  // Its mean wait moves ±5 % between seeds at 400,000 requests, ±2.5 % at 1,000,000 (8 seeds).
  const mmcSim = oneStation({
    rateRps: 3200,
    occupancy: exponential(1),
    replicas: 4,
    dispatch: 'shared-queue',
    requests: 1_000_000,
    seed: 3,
  });
  const c = mmc(3.2, 1, 4);
  near(t, mmcSim.stations[0]!.meanWaitMs, c.meanWait, 0.05, 'M/M/4 mean wait (Erlang C)');
  near(t, mmcSim.stations[0]!.p99WaitMs, c.waitQuantile(0.99), 0.05, 'M/M/4 p99 wait');

  const md1Sim = oneStation({ rateRps: 700, occupancy: deterministic(1), requests: n, seed: 11 });
  const d = md1(0.7, 1);
  near(t, md1Sim.stations[0]!.meanWaitMs, d.meanWait, 0.05, 'M/D/1 mean wait');
  near(t, md1Sim.stations[0]!.p99WaitMs, d.waitQuantile(0.99), 0.05, 'M/D/1 p99 wait');

  // Constant arrivals slower than a constant service: nobody waits (D/D/1).
  const dd1 = oneStation({
    rateRps: 500,
    arrival: 'constant',
    occupancy: deterministic(1.5),
    meanMs: 1.5,
    requests: 10_000,
  });
  t.equal(dd1.stations[0]!.p99WaitMs, 0, 'D/D/1 below saturation: no wait');
  // Round robin over 2 replicas: each sees every other Poisson arrival (Erlang-2 gaps), so
  // it waits less than one M/M/1 at the same utilization and more than the shared M/M/2.
  const rr = () =>
    oneStation({ rateRps: 1600, occupancy: exponential(1), replicas: 2, requests: n, seed: 5 }).stations[0]!.meanWaitMs;
  const rr2 = rr();
  t.ok(rr2 < q.meanWait && rr2 > mmc(1.6, 1, 2).meanWait, `RR over 2: ${rr2.toFixed(2)} between M/M/2 and M/M/1`);
  t.equal(rr(), rr2, 'seeded: the same input gives the same answer');
  t.notOk(
    oneStation({ rateRps: 1200, occupancy: exponential(1), requests: 1000 }).stable,
    'ρ ≥ 1 is reported unstable',
  );
});

t.test('empirical distributions: buckets read as histogram_quantile reads them', async (t) => {
  // 100 observations: 50 in (0, 1], 40 in (1, 2], 10 in (2, 4].
  const table = tableFromBuckets(
    [
      [1, 50],
      [2, 90],
      [4, 100],
    ],
    100,
  );
  near(t, table.values[1000]!, 1, 1e-9, 'median at the first bound');
  near(t, table.values[1900]!, 3, 1e-9, 'p95 halfway into (2, 4]: rank 95 of the 90–100 there');
  near(t, table.mean, 0.5 * 0.5 + 0.4 * 1.5 + 0.1 * 3, 1e-3, 'mean of uniform buckets');
  const draw = sampleTable(table);
  const u = seededRandom(2);
  let s = 0;
  for (let i = 0; i < 100_000; i++) s += draw(u);
  near(t, s / 100_000, table.mean, 0.01, 'sampling reproduces the mean');
  t.throws(() => tableFromBuckets([], 0), /no observations/);
});

/** A tier with a known constant CPU cost and no idle work. */
function input(topology: 'monolith' | 'microservices', cpu: Record<string, number>, rssMB = 100): TopologyInput {
  const base = { values: Array.from({ length: 2001 }, () => 1), mean: 1 };
  return {
    topology,
    implementation: 'mlbench',
    model: 'test',
    hops: topology === 'monolith' ? 1 : 2,
    base,
    baseRateRps: 100,
    baseMedianMs: 1,
    baseUtilization: 0,
    baseCandidates: 1,
    gatewayOwnMs: null,
    tiers: Object.entries(cpu).map(([kind, ms]) => ({
      kind,
      marginalCpuMs: ms,
      idleCores: 0,
      fit: { method: 'least-squares', points: 5, r2: 1, minRps: 100, maxRps: 1000 },
      lowLoadCpuMs: ms,
      hop: { meanMs: ms, p50Ms: ms, p99Ms: ms, rateRps: 100 },
      shape: { values: Array.from({ length: 2001 }, () => 1), mean: 1 },
      rssMB,
    })),
  };
}

function feasible(p: TopologyPlan): FeasiblePlan {
  if (!p.feasible) throw new Error(`no plan: ${p.reason}`);
  return p;
}

t.test('sizing: the cheapest configuration, priced from the sheet', async (t) => {
  const prices = readPrices();
  t.ok(
    prices.vcpuHour > 0 && prices.gbHour > 0 && prices.source.length > 10,
    'the default sheet says where it comes from',
  );
  const model = { arrival: 'poisson' as const, rttMs: 0, requests: 50_000, seed: 1 };
  const req = { rateRps: 10_000, sloMs: 50, serversPerReplica: 1, prices, model };
  // 1 ms a request: at 10,000 req/s at least 10 cores of work; Poisson arrivals need a few more.
  const mono = feasible(cheapest(input('monolith', { monolith: 1 }), req));
  t.ok(mono.replicas >= 11 && mono.replicas <= 14, `monolith ×${mono.replicas}`);
  t.ok(mono.p99Ms <= 50, 'meets the SLO');
  const perReplica = prices.vcpuHour + 2 * prices.gbHour;
  near(t, mono.costPerHour, mono.replicas * perReplica, 1e-9, '$/h = replicas × (vCPU + 2 GB minimum)');
  near(t, mono.costPerMillion, (mono.costPerHour / (10_000 * 3600)) * 1e6, 1e-9, 'per million predictions');
  // A step down misses the SLO (or is unstable): the plan is the fewest replicas.
  const fewer = feasible(
    cheapest(input('monolith', { monolith: 1 }), {
      ...req,
      rateRps: ((10_000 * (mono.replicas - 1)) / mono.replicas) * 1.02,
    }),
  );
  t.ok(fewer.replicas <= mono.replicas, 'less load never needs more replicas');
  const micro = feasible(cheapest(input('microservices', { gateway: 0.25, prediction: 1 }), req));
  t.ok(
    micro.replicas >= 11 && micro.gateways >= 3 && micro.gateways <= 5,
    `gateway ×${micro.gateways} + prediction ×${micro.replicas}`,
  );
  t.ok(micro.costPerHour > mono.costPerHour, 'the extra tier costs more when the work is the same');
  const tight = cheapest(input('monolith', { monolith: 1 }), { ...req, sloMs: 0.5 });
  t.notOk(tight.feasible, 'an SLO under the unqueued latency has no plan');
  t.match(tight.feasible ? '' : tight.reason, /no queueing/);
  // Round trips add per hop: 2 ms each on the microservices' two hops.
  const far = feasible(
    cheapest(input('microservices', { gateway: 0.25, prediction: 1 }), { ...req, model: { ...model, rttMs: 2 } }),
  );
  t.ok(far.p50Ms >= 1 + 4 - 1e-9, `p50 ${far.p50Ms} includes 2 × 2 ms`);
});

t.test('capacity at an SLO on a shared core: the core pool is the server', async (t) => {
  const model = { arrival: 'constant' as const, rttMs: 0, requests: 50_000, seed: 1 };
  // Gateway 0.25 ms + prediction 0.75 ms on one shared core: saturates at 1,000 req/s.
  const i = input('microservices', { gateway: 0.25, prediction: 0.75 });
  const shared = { replicas: 1, gateways: 1, serversPerReplica: 1, sharedCores: 1 };
  near(t, saturationRps(i, shared), 1000, 1e-9, 'saturation = 1 core / 1 ms');
  const cap = predictedCapacity(i, shared, 25, model);
  t.ok(cap > 950 && cap <= 1000, `constant arrivals, constant service: capacity ${cap.toFixed(0)} ≈ saturation`);
  near(t, saturationRps(i, { ...shared, sharedCores: null }), 4000 / 3, 1e-9, 'own cores: the prediction tier binds');
});

t.test('stalls in the base drain at 1 − ρ: measured at ρ₀, they cost (1 − ρ₀)/(1 − ρ) as much at ρ', async (t) => {
  // Base: 1 ms, and 10 % of requests 11 ms (a 10 ms stall over the 1 ms median); measured at ρ₀ = 0.2.
  const values = Array.from({ length: 2001 }, (_, k) => (k > 1800 ? 11 : 1));
  const base = sampleTable({ values, mean: 2 });
  const at = (rate: number, stalls?: { medianMs: number; utilization: number }) =>
    simulate({
      rateRps: rate,
      arrival: 'constant',
      // Constant service, constant arrivals: no queueing of its own, so only the stalls move.
      stations: [
        {
          name: 's',
          replicas: 1,
          servers: 1,
          occupancy: deterministic(1),
          meanOccupancyMs: 1,
          dispatch: 'round-robin',
        },
      ],
      base,
      requests: 20_000,
      ...(stalls ? { stalls } : {}),
    });
  const asDrawn = at(600);
  near(t, asDrawn.p99Ms, 11, 1e-9, 'without the stall model the base is added as drawn');
  const scaled = at(600, { medianMs: 1, utilization: 0.2 });
  near(t, scaled.p99Ms, 1 + 10 * (0.8 / 0.4), 1e-9, 'at ρ = 0.6: the 10 ms stall costs 10 × 0.8/0.4');
  near(t, at(200, { medianMs: 1, utilization: 0.2 }).p99Ms, 11, 1e-9, 'at ρ₀ itself: as measured');
  near(t, scaled.p50Ms, 1, 1e-9, 'the median is no stall');
});

t.test('several runs: medians side by side, and how far the measurement moved', async (t) => {
  const run = (pred: number, lo: number, hi: number | null) => ({
    runId: 'r',
    sloMs: 25,
    serverCores: 1,
    latency: [],
    capacity: [
      {
        implementation: 'mlbench',
        topology: 'microservices',
        replicas: 1,
        gateways: 1,
        predictedRps: pred,
        measuredLo: lo,
        measuredHi: hi,
        // The combination reads what each run measured; here, the bracket's lo.
        measured: lo,
        limitedBy: hi === null ? 'load-generator' : 'slo',
        errorPct: null,
        errorRangePct: null,
        withinBracket: false,
      },
    ],
  });
  const [c] = combineValidations([
    run(3000, 2000, 2100),
    run(3200, 4000, 4200),
    run(3100, 3000, 3100),
    // A run that left only a floor, on a faster hour: its prediction is no measurement's pair.
    run(9000, 5000, null),
  ]);
  t.same(c!.predicted, { median: 3150, min: 3000, max: 9000 });
  t.same(c!.measured, { median: 3000, min: 2000, max: 4000, n: 3 }, 'floors are not capacities');
  t.same(c!.floors, [5000]);
  t.equal(c!.errorPct, 3.3, '(3100 − 3000) / 3000: the predictions of the runs that measured');
  t.equal(c!.measuredSpreadPct, 66.7, '(4000 − 2000) / 3000');
});

t.test('validation covers every model of the sweep, each at its own SLO and bracket', async (t) => {
  // A heavy model (2 ms a request on one shared core): saturation 500 req/s; p99 ≤ 50 ms holds
  // to ~95 % of that (deterministic service, constant arrivals).
  const heavy = (topology: 'monolith' | 'microservices') =>
    topology === 'monolith'
      ? input('monolith', { monolith: 2 })
      : input('microservices', { gateway: 0.1, prediction: 2 });
  const workloads = [
    {
      source: 'x',
      runId: 'x',
      implementation: 'mlbench',
      model: 'rf-l',
      arrival: 'constant' as const,
      serverCores: 1,
      topologies: [heavy('monolith'), heavy('microservices')].map((i) => ({ ...i, model: 'rf-l' })),
    },
  ];
  const point = (topology: 'monolith' | 'microservices', capacityRps: number, failedAt: number | undefined) => ({
    model: 'rf-l',
    family: 'random-features',
    size: 'l',
    topology,
    inferenceMs: 2,
    sloP99Ms: 50,
    capacityRps,
    capacityLimitedBy: 'slo' as const,
    ...(failedAt ? { capacityFailedAtRps: failedAt } : {}),
    serverCores: 1,
    capacityPerCore: capacityRps,
    commonRateRps: null,
    commonRateValid: false,
    p50Ms: null,
    p99Ms: null,
    cpuMsPer1k: null,
    residentMB: 100,
    totalResidentMB: null,
    residentByKind: {},
  });
  const res = {
    runId: 'x',
    config: { slo: { p99Ms: 25, errorRate: 0.001 }, model: { name: 'synthetic-linear' } },
    machine: { logicalCpus: 2 },
    // No runs: each check falls back to the pooled inputs given.
    runs: [],
    capacity: [],
    summary: [],
    sweep: { points: [point('monolith', 450, 500), point('microservices', 300, 350)] },
  } as unknown as ResultsFile;
  const v = validate(res, workloads, { arrival: 'constant', rttMs: 0, requests: 20_000, seed: 1 });
  t.equal(v.capacity.length, 2, 'one check per sweep point');
  const [mono, micro] = v.capacity;
  t.match(mono, {
    model: 'rf-l',
    sloMs: 50,
    topology: 'monolith',
    gateways: 0,
    measuredLo: 450,
    measuredHi: 500,
    measured: 474,
  });
  t.equal(mono!.errorPct, Math.round(((mono!.predictedRps - 474) / 474) * 1000) / 10, 'against the middle √(450·500)');
  t.ok(
    mono!.predictedRps > 400 && mono!.predictedRps < 500,
    `monolith predicted ${mono!.predictedRps} (saturation 500)`,
  );
  t.ok(mono!.withinBracket, 'inside [450, 500)');
  t.match(micro, { topology: 'microservices', gateways: 1, measuredLo: 300, measuredHi: 350 });
  t.ok(
    micro!.predictedRps > 400 && !micro!.withinBracket,
    `microservices predicted ${micro!.predictedRps}: above the bracket`,
  );
  t.ok((micro!.errorPct ?? 0) > 20, `and off by ${micro!.errorPct} %`);
  const [c] = combineValidations([v, v]).filter((x) => x.topology === 'monolith');
  t.equal(c!.model, 'rf-l', 'combined per model too');
  t.same(c!.measured, { median: 474, min: 474, max: 474, n: 2 });
});

/** Latency of a run (µs in the histogram): 1 ms, and a share of requests caught in a stall. */
function latencyOf(stallShare = 0, stallMs = 60): { hist: string; p99: number } {
  const h = newHistogram();
  const n = 10_000;
  for (let i = 0; i < n; i++) h.recordValue(i < n * stallShare ? stallMs * 1000 : 1000);
  return { hist: encodeHistogram(h), p99: stallShare > 0.01 ? stallMs : 1 };
}

/** A run as results.json records one: what the planner's inputs read of it, the rest left out. */
function runOf(o: {
  topology: 'monolith' | 'microservices';
  targetRps: number;
  /** CPU cores by component at this rate. */
  cpu: Record<string, number>;
  phase?: string;
  sweepModel?: string;
  latency?: { hist: string; p99: number };
}) {
  const l = o.latency ?? latencyOf();
  return {
    phase: o.phase ?? (o.sweepModel ? 'capacity' : 'trial'),
    ...(o.sweepModel ? { sweepModel: o.sweepModel } : {}),
    topology: o.topology,
    replicas: 1,
    ...(o.topology === 'microservices' ? { gateways: 1 } : {}),
    targetRps: o.targetRps,
    achievedRps: o.targetRps,
    requests: o.targetRps * 10,
    valid: true,
    driverLate: false,
    failed: { rate: 0, count: 0 },
    hopCount: o.topology === 'monolith' ? 1 : 2,
    hops: {},
    latencyMs: { p99: l.p99 },
    latencyHistogram: l.hist,
    resources: Object.fromEntries(Object.entries(o.cpu).map(([c, cpuCores]) => [c, { cpuCores, rssMaxMB: 100 }])),
  };
}

/** A results.json of those runs: model `model`, every server on one core. */
const resultsOf = (runs: unknown[], model = 'm') =>
  ({
    runId: 'x',
    config: {
      slo: { p99Ms: 25, errorRate: 0.001 },
      model: { name: model },
      pinning: { serverCpus: '1' },
      scenario: { arrival: 'constant' },
    },
    machine: { logicalCpus: 2 },
    runs,
  }) as unknown as ResultsFile;

t.test('the base is the lower-median run: one noise episode does not become every prediction', async (t) => {
  // A monolith costing 2 ms of CPU a request on one core: saturation 500 req/s.
  const run = (targetRps: number, stallShare: number, phase = 'capacity') =>
    runOf({
      topology: 'monolith',
      targetRps,
      phase,
      cpu: { 'monolith-1': (targetRps * 2) / 1000 },
      latency: latencyOf(stallShare),
    });
  const baseOf = (runs: unknown[]) => workloadsOf(resultsOf(runs), 'x')[0]!.topologies[0]!;
  // Three trials at the lowest rate, one of them caught in a 60-ms episode (5 % of requests).
  const trials = baseOf([run(100, 0.05, 'trial'), run(100, 0, 'trial'), run(100, 0, 'trial'), run(300, 0)]);
  t.equal(trials.baseCandidates, 3, 'the lowest rate had three runs');
  t.ok(trials.base.values[1990]! < 2, `base p99.5 ${trials.base.values[1990]} ms: a clean trial, not the episode`);
  t.equal(trials.baseRateRps, 100);
  // One run at the lowest rate, caught in the episode; the next rates top the candidates up
  // while the core was at most 75 % busy (300 req/s: 60 %; 400: 80 %, left out).
  const one = baseOf([run(100, 0.05, 'trial'), run(300, 0), run(400, 0)]);
  t.equal(one.baseCandidates, 2, '100 and 300 req/s; not 400 (80 % busy)');
  t.equal(one.baseRateRps, 300, 'the clean run at 300 req/s is the lower median of the two');
  t.ok(Math.abs(one.baseUtilization - 0.6) < 1e-9, `measured at 60 % busy (${one.baseUtilization})`);
  // The episode alone: still the base (nothing else to choose), and said so by the count.
  const alone = baseOf([run(100, 0.05, 'trial'), run(450, 0)]);
  t.equal(alone.baseCandidates, 1);
  t.ok(alone.base.values[1990]! > 50, 'the episode is all there is');
});

t.test("a heavy model's gateway, too few rates to fit, takes the run's own model's gateway fit", async (t) => {
  // The gateway costs 0.05 ms a request and 0.1 core idle; the prediction tier 0.02 or 2 ms.
  const run = (targetRps: number, predictionMs: number, sweepModel?: string) =>
    runOf({
      topology: 'microservices',
      targetRps,
      ...(sweepModel ? { sweepModel } : {}),
      cpu: { 'gateway-1': 0.1 + (targetRps * 0.05) / 1000, 'prediction-1': (targetRps * predictionMs) / 1000 },
    });
  // The light model over 1,000–8,000 req/s; the heavy one at two rates only (no fit).
  const res = resultsOf(
    [...[1000, 2000, 4000, 8000].map((r) => run(r, 0.02)), run(200, 2, 'heavy'), run(250, 2, 'heavy')],
    'light',
  );
  const ws = workloadsOf(res, 'x');
  const gatewayOf = (model: string) =>
    ws.find((w) => w.model === model)!.topologies[0]!.tiers.find((x) => x.kind === 'gateway')!;
  const light = gatewayOf('light');
  const heavy = gatewayOf('heavy');
  t.equal(light.fit.method, 'least-squares');
  t.ok(Math.abs(light.marginalCpuMs - 0.05) < 1e-9, `the light model's gateway: ${light.marginalCpuMs} ms`);
  t.equal(heavy.fit.from, 'light', 'the heavy model borrows it, and says so');
  t.equal(heavy.marginalCpuMs, light.marginalCpuMs);
  t.ok(Math.abs(heavy.idleCores - 0.1) < 1e-9, 'idle cost and all');
  const prediction = ws.find((w) => w.model === 'heavy')!.topologies[0]!.tiers.find((x) => x.kind === 'prediction')!;
  t.equal(prediction.fit.method, 'highest-rate', 'the prediction tier is the model’s own: nothing borrowed');
});
