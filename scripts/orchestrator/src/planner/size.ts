import type { TopologyInput } from './inputs.js';
import { billedGB, hourlyCost, type PriceSheet } from './prices.js';
import type { SimulationResult } from './simulate.js';
import { type PredictOptions, predict, type Sizing, saturationRps } from './stations.js';

export interface PlanRequest {
  rateRps: number;
  sloMs: number;
  serversPerReplica: number;
  prices: PriceSheet;
  model: PredictOptions;
}

export interface TierPlan {
  kind: string;
  replicas: number;
  coresPerReplica: number;
  memoryGBPerReplica: number;
  utilization: number;
}

export type TopologyPlan = FeasiblePlan | InfeasiblePlan;

export interface InfeasiblePlan {
  topology: string;
  feasible: false;
  /** Why there is no plan (the unqueued latency alone misses the SLO, …). */
  reason: string;
}

export interface FeasiblePlan {
  topology: string;
  feasible: true;
  /** Monolith replicas, or prediction replicas. */
  replicas: number;
  /** Gateway replicas (microservices; 0 for the monolith). */
  gateways: number;
  tiers: TierPlan[];
  p50Ms: number;
  p99Ms: number;
  cores: number;
  memoryGB: number;
  costPerHour: number;
  costPerMillion: number;
}

// Past this many replicas in a tier the plan gives up: the SLO is out of reach by scaling.
const MAX_REPLICAS = 5000;

function costOf(input: TopologyInput, d: Sizing, r: PlanRequest) {
  const tiers: TierPlan[] = [];
  let cores = 0;
  let gb = 0;
  let perHour = 0;
  for (const t of input.tiers) {
    const n = t.kind === 'gateway' ? d.gateways : d.replicas;
    const c = r.serversPerReplica;
    // Each server of a replica is a worker holding its own copy of the service (and model).
    const mem = billedGB(t.rssMB * c, c, r.prices);
    tiers.push({ kind: t.kind, replicas: n, coresPerReplica: c, memoryGBPerReplica: mem, utilization: 0 });
    cores += n * c;
    gb += n * mem;
    perHour += n * hourlyCost(c, mem, r.prices);
  }
  return { tiers, cores, gb, perHour };
}

function planOf(input: TopologyInput, d: Sizing, sim: SimulationResult, r: PlanRequest): FeasiblePlan {
  const { tiers, cores, gb, perHour } = costOf(input, d, r);
  for (const t of tiers) t.utilization = sim.stations.find((s) => s.name === t.kind)?.utilization ?? 0;
  return {
    topology: input.topology,
    feasible: true,
    replicas: d.replicas,
    gateways: d.gateways,
    tiers,
    p50Ms: sim.p50Ms,
    p99Ms: sim.p99Ms,
    cores,
    memoryGB: gb,
    costPerHour: perHour,
    costPerMillion: (perHour / (r.rateRps * 3600)) * 1e6,
  };
}

const sizing = (replicas: number, gateways: number, r: PlanRequest): Sizing => ({
  replicas,
  gateways,
  serversPerReplica: r.serversPerReplica,
  sharedCores: null,
});

/** Fewest replicas of a tier that keep its utilization under 1 at the rate. */
function minimumReplicas(input: TopologyInput, kind: string, r: PlanRequest): number {
  const t = input.tiers.find((x) => x.kind === kind)!;
  const perReplica = saturationRps({ ...input, tiers: [t] }, { ...sizing(1, 1, r) });
  return Math.max(1, Math.floor(r.rateRps / perReplica) + 1);
}

function infeasible(input: TopologyInput, reason: string): InfeasiblePlan {
  return { topology: input.topology, feasible: false, reason };
}

const ok = (s: SimulationResult, r: PlanRequest) => s.stable && s.p99Ms <= r.sloMs;

/**
 * The cheapest configuration that serves the rate within the SLO. From the fewest replicas
 * that keep every tier stable, add a replica where it buys the most p99 per unit of cost
 * until the p99 is within the SLO: the p99 falls as replicas are added and each added
 * replica costs its tier's price, so this greedy walk ends at (or beside) the cheapest.
 */
export function cheapest(input: TopologyInput, r: PlanRequest): TopologyPlan {
  const floor = predict(input, sizing(MAX_REPLICAS, MAX_REPLICAS, r), Math.min(r.rateRps, 1), r.model);
  if (floor.p99Ms > r.sloMs)
    return infeasible(
      input,
      `even with no queueing its p99 is ${floor.p99Ms.toFixed(2)} ms (measured at low load, plus the round trips): over the ${r.sloMs} ms SLO`,
    );
  const micro = input.topology === 'microservices';
  let d = micro
    ? sizing(minimumReplicas(input, 'prediction', r), minimumReplicas(input, 'gateway', r), r)
    : sizing(minimumReplicas(input, 'monolith', r), 0, r);
  let sim = predict(input, d, r.rateRps, r.model);
  while (!ok(sim, r)) {
    if (d.replicas > MAX_REPLICAS || d.gateways > MAX_REPLICAS)
      return infeasible(input, `no configuration up to ${MAX_REPLICAS} replicas a tier meets the SLO`);
    // Steps of 2 % (at least one replica) keep a walk to hundreds of replicas short; the
    // step back below undoes any overshoot one replica at a time.
    const step = (n: number) => n + Math.max(1, Math.ceil(n * 0.02));
    const candidates = micro
      ? [sizing(step(d.replicas), d.gateways, r), sizing(d.replicas, step(d.gateways), r)]
      : [sizing(step(d.replicas), 0, r)];
    const base = costOf(input, d, r).perHour;
    let best: { d: Sizing; sim: SimulationResult; gain: number } | null = null;
    for (const c of candidates) {
      const s = predict(input, c, r.rateRps, r.model);
      const dp99 = (sim.stable ? sim.p99Ms : Number.MAX_VALUE) - (s.stable ? s.p99Ms : Number.MAX_VALUE);
      const gain = (ok(s, r) ? 1e12 : dp99) / (costOf(input, c, r).perHour - base || 1e-9);
      if (!best || gain > best.gain || (gain === best.gain && s.p99Ms < best.sim.p99Ms)) best = { d: c, sim: s, gain };
    }
    d = best!.d;
    sim = best!.sim;
  }
  // A step back on each tier in turn, while the SLO still holds: the walk may have overshot.
  for (let changed = true; changed; ) {
    changed = false;
    const back = micro
      ? [sizing(d.replicas - 1, d.gateways, r), sizing(d.replicas, d.gateways - 1, r)]
      : [sizing(d.replicas - 1, 0, r)];
    for (const c of back) {
      if (c.replicas < 1 || (micro && c.gateways < 1)) continue;
      const s = predict(input, c, r.rateRps, r.model);
      if (ok(s, r)) {
        d = c;
        sim = s;
        changed = true;
        break;
      }
    }
  }
  return planOf(input, d, sim, r);
}
