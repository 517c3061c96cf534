import { linearRegression, linearRegressionLine, rSquared } from 'simple-statistics';
import type { ResultsFile, RunResult } from '../results/index.js';
import { componentKind, gatewaysOf, implementationOf, sameConfig } from '../results/labels.js';
import { decodeHistogram } from '../stats/histogram.js';
import { parseCpuList } from '../sys/machine.js';
import { type QuantileTable, scaleTable, tableFromBuckets, tableFromHdr } from './distribution.js';
import { utilizationAt } from './stations.js';
import type { TierInput, TopologyInput } from './types.js';

export type { TierInput, TopologyInput };

export interface Workload {
  source: string;
  runId: string;
  implementation: string;
  model: string;
  arrival: 'poisson' | 'constant';
  /** Cores every server process shared when this was measured. */
  serverCores: number;
  topologies: TopologyInput[];
}

/** A run the fit may use: the server kept up (nothing late, nothing failed, the rate held). */
function keptUp(r: RunResult, errorRate: number): boolean {
  return r.achievedRps >= 0.97 * r.targetRps && r.failed.rate <= errorRate && !r.driverLate && r.requests > 0;
}

function replicasOf(r: RunResult, kind: string): string[] {
  return Object.keys(r.resources).filter((c) => componentKind(c) === kind);
}

function tierInput(kind: string, runs: RunResult[], low: RunResult[], errorRate: number): TierInput | null {
  const points: [number, number][] = [];
  let rss = 0;
  for (const r of runs) {
    const names = replicasOf(r, kind);
    for (const c of names) rss = Math.max(rss, r.resources[c]!.rssMaxMB);
    if (!keptUp(r, errorRate) || !names.length) continue;
    for (const c of names) points.push([r.achievedRps / names.length, r.resources[c]!.cpuCores]);
  }
  if (!points.length) return null;
  const xs = points.map((p) => p[0]);
  const [minRps, maxRps] = [Math.min(...xs), Math.max(...xs)];
  let marginalCpuMs: number;
  let idleCores: number;
  let fit: TierInput['fit'];
  const line = maxRps > 1.5 * minRps && points.length >= 3 ? linearRegression(points) : null;
  if (line && line.m > 0) {
    marginalCpuMs = line.m * 1000;
    idleCores = Math.max(0, line.b);
    fit = {
      method: 'least-squares',
      points: points.length,
      r2: rSquared(points, linearRegressionLine(line)),
      minRps,
      maxRps,
    };
  } else {
    // Too few rates to separate idle from per-request cost: all of it per request, at the
    // highest rate (where idle weighs least): an upper bound on the marginal cost.
    const top = points.find((p) => p[0] === maxRps)!;
    marginalCpuMs = (top[1] / top[0]) * 1000;
    idleCores = 0;
    fit = { method: 'highest-rate', points: points.length, r2: null, minRps, maxRps };
  }
  const lowRun = low.find((r) => replicasOf(r, kind).length) ?? runs[0]!;
  const hopRuns = low.filter((r) => r.hops[kind]?.requests);
  const hopOf = hopRuns[0]?.hops[kind];
  const names = replicasOf(lowRun, kind);
  const lowLoadCpuMs = names.length
    ? (names.reduce((s, c) => s + lowRun.resources[c]!.cpuCores, 0) / Math.max(1, lowRun.achievedRps)) * 1000
    : marginalCpuMs;
  // The hop histograms of the low-load runs, merged (cumulative buckets add).
  const merged = new Map<number, number>();
  let total = 0;
  for (const r of hopRuns) {
    const h = r.hops[kind]!;
    if (!h.bucketsMs) continue;
    total += h.requests;
    for (const [le, n] of h.bucketsMs) merged.set(le, (merged.get(le) ?? 0) + n);
  }
  let shape: QuantileTable | null = null;
  if (total > 0) {
    const table = tableFromBuckets(
      [...merged].sort((a, b) => a[0] - b[0]),
      total,
    );
    if (table.mean > 0) shape = scaleTable(table, 1 / table.mean);
  }
  return {
    kind,
    marginalCpuMs,
    idleCores,
    fit,
    lowLoadCpuMs,
    hop: {
      meanMs: hopOf?.meanMs ?? 0,
      p50Ms: hopOf?.p50Ms ?? 0,
      p99Ms: hopOf?.p99Ms ?? 0,
      rateRps: hopRuns[0]?.achievedRps ?? 0,
    },
    shape,
    rssMB: rss,
  };
}

/** The smallest configuration's valid runs that kept up, lowest rate first: the least queueing. */
function smallestConfigRuns(runs: RunResult[], errorRate: number): RunResult[] {
  const ok = runs.filter((r) => keptUp(r, errorRate) && r.valid);
  if (!ok.length) return [];
  const size = (r: RunResult) => r.replicas + gatewaysOf(r);
  const smallest = Math.min(...ok.map(size));
  return ok.filter((r) => size(r) === smallest).sort((a, b) => a.targetRps - b.targetRps);
}

// A run joins the base's candidates (beyond the lowest rate's) only where its busiest station
// was at most this busy: little queueing of its own in its tail.
const BASE_MAX_UTILIZATION = 0.75;
// Candidates enough for a median that one noisy run cannot move.
const BASE_CANDIDATES = 3;

/**
 * The run whose latency is the model's base: of the lowest rate's runs (topped up with the
 * next rates' runs, up to three, where the busiest station stayed at most 75 % busy), the one
 * with the lower-median p99. A noise episode of the shared machine lands in one run and only
 * ever adds latency; merging it into the base would carry it into every prediction
 * (measured: a sweep run at 132 req/s had p99 65 ms while probes of the same deployment at
 * 234 and 264 req/s met 22 ms; its base made the planner predict a capacity of 0 where
 * 264 req/s was measured).
 */
function baseRunOf(small: RunResult[], utilization: (r: RunResult) => number): { run: RunResult; candidates: number } {
  const lowest = small[0]!.targetRps;
  const candidates = small.filter((r) => r.targetRps === lowest);
  for (const r of small)
    if (candidates.length < BASE_CANDIDATES && r.targetRps > lowest && utilization(r) <= BASE_MAX_UTILIZATION)
      candidates.push(r);
  const byP99 = candidates.slice().sort((a, b) => a.latencyMs.p99 - b.latencyMs.p99);
  return { run: byP99[Math.floor((byP99.length - 1) / 2)]!, candidates: candidates.length };
}

function topologyInput(
  topology: 'monolith' | 'microservices',
  implementation: string,
  model: string,
  runs: RunResult[],
  errorRate: number,
  serverCores: number,
): TopologyInput | null {
  const small = smallestConfigRuns(runs, errorRate);
  if (!small.length) return null;
  const low = small.filter((r) => r.targetRps === small[0]!.targetRps);
  const kinds = topology === 'monolith' ? ['monolith'] : ['gateway', 'prediction'];
  const tiers: TierInput[] = [];
  for (const k of kinds) {
    const t = tierInput(k, runs, low, errorRate);
    if (!t) return null;
    tiers.push(t);
  }
  // Where a run was measured: its configuration, every process on the measured cores.
  const utilization = (r: RunResult) =>
    utilizationAt(
      { tiers },
      { replicas: r.replicas, gateways: gatewaysOf(r), serversPerReplica: 1, sharedCores: serverCores },
      r.achievedRps,
    );
  const { run, candidates } = baseRunOf(small, utilization);
  const base = tableFromHdr(decodeHistogram(run.latencyHistogram));
  const g = tiers.find((t) => t.kind === 'gateway');
  const p = tiers.find((t) => t.kind === 'prediction');
  const input: TopologyInput = {
    topology,
    implementation,
    model,
    hops: low[0]!.hopCount || kinds.length,
    base,
    baseRateRps: run.achievedRps,
    baseCandidates: candidates,
    baseMedianMs: base.values[Math.floor(base.values.length / 2)]!,
    baseUtilization: utilization(run),
    tiers,
    gatewayOwnMs: g && p ? Math.round((g.hop.meanMs - p.hop.meanMs) * 1000) / 1000 : null,
  };
  return input;
}

/** A results.json's runs by implementation and model (its own, or a sweep model's); faults apart. */
function runGroups(res: ResultsFile): { implementation: string; model: string; runs: RunResult[] }[] {
  const groups = new Map<string, { implementation: string; model: string; runs: RunResult[] }>();
  for (const r of res.runs) {
    if (r.phase === 'fault') continue;
    const implementation = implementationOf(r);
    const model = r.phase === 'sweep' || r.sweepModel ? (r.sweepModel ?? 'sweep') : res.config.model.name;
    const key = `${implementation}|${model}`;
    const g = groups.get(key) ?? { implementation, model, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }
  return [...groups.values()];
}

const serverCoresOf = (res: ResultsFile) =>
  res.config.pinning.serverCpus ? parseCpuList(res.config.pinning.serverCpus).length : res.machine.logicalCpus;

/**
 * The workloads of one results.json: its own model (trials and capacity probes), and every
 * model of its model-cost sweep (that model's probes and common-rate run), per implementation.
 */
export function workloadsOf(res: ResultsFile, source: string): Workload[] {
  const c = res.config;
  const serverCores = serverCoresOf(res);
  const out: Workload[] = [];
  for (const g of runGroups(res)) {
    const topologies: TopologyInput[] = [];
    for (const t of ['monolith', 'microservices'] as const) {
      const ti = topologyInput(
        t,
        g.implementation,
        g.model,
        g.runs.filter((r) => r.topology === t),
        c.slo.errorRate,
        serverCores,
      );
      if (ti) topologies.push(ti);
    }
    if (!topologies.length) continue;
    out.push({
      source,
      runId: res.runId,
      implementation: g.implementation,
      model: g.model,
      arrival: c.scenario.arrival === 'poisson' ? 'poisson' : 'constant',
      serverCores,
      topologies,
    });
  }
  borrowGatewayFits(out);
  return out;
}

/**
 * A gateway forwards the same request whatever model stands behind it, so where a model's own
 * runs are too few to fit the gateway's slope (a heavy model's probes span 199–398 req/s,
 * where its idle cost swamps its per-request one), the fit of another model of the same
 * implementation stands in for it: the highest-rate figure it would otherwise take counts
 * the idle cost as per-request (rf-l: 0.347 ms, against the default model's fitted 0.051,
 * and a plan for 50,000 req/s of 19 gateways).
 */
function borrowGatewayFits(ws: Workload[]): void {
  const gatewayOf = (w: Workload) =>
    w.topologies.find((t) => t.topology === 'microservices')?.tiers.find((t) => t.kind === 'gateway');
  const fittedHere = (t: TierInput | undefined) => t?.fit.method === 'least-squares' && !t.fit.from;
  for (const w of ws) {
    const g = gatewayOf(w);
    if (!g || g.fit.method === 'least-squares') continue;
    // The donor with the most points: the run's own model, as a rule (trials and probes).
    const donor = ws
      .filter((x) => x !== w && x.implementation === w.implementation)
      .map((x) => ({ model: x.model, tier: gatewayOf(x) }))
      .filter((x): x is { model: string; tier: TierInput } => fittedHere(x.tier))
      .sort((a, b) => b.tier.fit.points - a.tier.fit.points)[0];
    if (!donor) continue;
    g.marginalCpuMs = donor.tier.marginalCpuMs;
    g.idleCores = donor.tier.idleCores;
    g.fit = { ...donor.tier.fit, from: donor.model };
  }
}

/**
 * Each configuration's inputs from its own runs alone (trials and capacity probes), or null
 * where they are too few: what validation predicts a configuration as it ran from. On a
 * shared core the processes beside a replica change what a request costs it and how often
 * it stalls (measured, run 024536: microservices×2 used 0.89 cores at 3,750 req/s where ×1
 * used 0.83 at 4,000); that interference is measured per configuration, not modelled. The
 * runs are grouped once, and each configuration's inputs computed once, however often asked.
 */
export function configInputs(
  res: ResultsFile,
): (
  implementation: string,
  model: string,
  c: { topology: 'monolith' | 'microservices'; replicas: number; gateways: number },
) => TopologyInput | null {
  const groups = runGroups(res);
  const memo = new Map<string, TopologyInput | null>();
  const compute = (implementation: string, model: string, c: Parameters<ReturnType<typeof configInputs>>[2]) => {
    const g = groups.find((x) => x.implementation === implementation && x.model === model);
    if (!g) return null;
    const runs = g.runs.filter((r) => sameConfig(r, { ...c, implementation }));
    return topologyInput(c.topology, implementation, model, runs, res.config.slo.errorRate, serverCoresOf(res));
  };
  return (implementation, model, c) => {
    const key = `${implementation}|${model}|${c.topology}|${c.replicas}|${c.gateways}`;
    if (!memo.has(key)) memo.set(key, compute(implementation, model, c));
    return memo.get(key)!;
  };
}
