import { exponential, type Sampler, sampleTable } from './distribution.js';
import { type SimulationResult, type Station, simulate } from './simulate.js';
import type { TierInput, TopologyInput } from './types.js';

/** A configuration to predict: replicas per tier and how cores are held. */
export interface Sizing {
  /** Monolith replicas, or prediction replicas behind the gateways. */
  replicas: number;
  /** Gateway replicas (microservices); 0 for the monolith. */
  gateways: number;
  /** Servers (event loops, workers) per replica; each is billed one core. */
  serversPerReplica: number;
  /**
   * Cores every process shares (this machine, where all servers ran on a core set), or
   * null: each replica holds its own cores (the cloud plan).
   */
  sharedCores: number | null;
}

export interface PredictOptions {
  arrival: 'poisson' | 'constant';
  /** Network round trip per hop (ms), added per hop a request takes; 0 on loopback. */
  rttMs: number;
  /** Simulated requests per prediction. */
  requests: number;
  seed: number;
}

// A replica whose idle work took this much of a core or more is no server at all; keeps the
// occupancy finite when a fit's intercept comes out near a whole core.
const MAX_IDLE = 0.9;

const shapeOf = (t: TierInput): Sampler => (t.shape ? sampleTable(t.shape) : exponential(1));

function replicasOfTier(kind: string, d: Sizing): number {
  return kind === 'gateway' ? d.gateways : d.replicas;
}

/**
 * The stations a request visits. Each tier's replica holds a server for the CPU a request
 * costs it (its measured marginal CPU, varied by its service-time shape), slowed by the
 * share of the core its idle work takes. Where every process shares fewer cores than there
 * are processes (this machine), the cores are the servers: one queue for the core pool,
 * holding a request for the CPU of all its tiers.
 */
export function stationsFor(input: Pick<TopologyInput, 'tiers'>, d: Sizing): Station[] {
  const processes = input.tiers.reduce((s, t) => s + replicasOfTier(t.kind, d), 0);
  if (d.sharedCores !== null && processes > d.sharedCores) {
    const idle = input.tiers.reduce((s, t) => s + t.idleCores * replicasOfTier(t.kind, d), 0);
    const slow = 1 / (1 - Math.min(MAX_IDLE, idle / d.sharedCores));
    const parts = input.tiers.map((t) => ({ m: t.marginalCpuMs * slow, shape: shapeOf(t) }));
    return [
      {
        name: 'cores',
        replicas: 1,
        servers: d.sharedCores,
        dispatch: 'shared-queue',
        meanOccupancyMs: parts.reduce((s, p) => s + p.m, 0),
        occupancy: (u) => parts.reduce((s, p) => s + p.m * p.shape(u), 0),
      },
    ];
  }
  return input.tiers.map((t) => {
    const m = t.marginalCpuMs / (1 - Math.min(MAX_IDLE, t.idleCores));
    const shape = shapeOf(t);
    return {
      name: t.kind,
      replicas: replicasOfTier(t.kind, d),
      servers: d.sharedCores !== null ? 1 : d.serversPerReplica,
      dispatch: 'round-robin',
      meanOccupancyMs: m,
      occupancy: (u) => m * shape(u),
    } satisfies Station;
  });
}

/** Predicted latency of a deployment at a rate. */
export function predict(input: TopologyInput, d: Sizing, rateRps: number, o: PredictOptions): SimulationResult {
  return simulate({
    rateRps,
    arrival: o.arrival,
    stations: stationsFor(input, d),
    base: sampleTable(input.base),
    stalls: { medianMs: input.baseMedianMs, utilization: input.baseUtilization },
    fixedMs: o.rttMs * input.hops,
    requests: o.requests,
    seed: o.seed,
  });
}

/** The busiest station's utilization at a rate (the simulator's own definition). */
export function utilizationAt(input: Pick<TopologyInput, 'tiers'>, d: Sizing, rateRps: number): number {
  return Math.max(...stationsFor(input, d).map((s) => (rateRps * s.meanOccupancyMs) / 1000 / (s.replicas * s.servers)));
}

/** The rate at which some station's utilization reaches 1. */
export function saturationRps(input: TopologyInput, d: Sizing): number {
  return Math.min(...stationsFor(input, d).map((s) => (s.replicas * s.servers * 1000) / s.meanOccupancyMs));
}

const meets = (r: SimulationResult, sloMs: number) => r.stable && r.p99Ms <= sloMs;

/**
 * Capacity at the SLO: the highest rate whose predicted p99 is within it, by bisection
 * (p99 rises with the rate: the simulations share their random numbers). 0 when even the
 * unqueued latency misses the SLO.
 */
export function predictedCapacity(input: TopologyInput, d: Sizing, sloMs: number, o: PredictOptions): number {
  const top = saturationRps(input, d);
  let lo = 0;
  let hi = top;
  if (!meets(predict(input, d, top * 0.01, o), sloMs)) return 0;
  lo = top * 0.01;
  // 1 % of the saturation rate is the search's resolution: finer than any measured bracket.
  while (hi - lo > top * 0.005) {
    const mid = (lo + hi) / 2;
    if (meets(predict(input, d, mid, o), sloMs)) lo = mid;
    else hi = mid;
  }
  return lo;
}
