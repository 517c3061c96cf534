import type { QuantileTable } from './distribution.js';

/**
 * What the planner takes from a results.json, per tier of a topology: how much CPU a request
 * costs it, what a replica costs at idle, the shape of its service time, and the memory a
 * replica holds. All measured; nothing here is a parameter.
 */
export interface TierInput {
  /** monolith, gateway or prediction. */
  kind: string;
  /** CPU ms a request costs a replica of this tier: the slope of cores against rate. */
  marginalCpuMs: number;
  /** Cores a replica burns at no load (timers, metrics, GC): the intercept, at least 0. */
  idleCores: number;
  fit: {
    method: 'least-squares' | 'highest-rate';
    points: number;
    r2: number | null;
    /** Rates per replica the fit spans. */
    minRps: number;
    maxRps: number;
    /** The model whose runs the fit is from, where not this workload's own (a gateway's; see workloadsOf). */
    from?: string;
  };
  /** CPU per request as /proc gave it at the lowest measured rate (idle time included). */
  lowLoadCpuMs: number;
  /** Service time at low load from the tier's own histogram (ms), whose shape, scaled to mean 1, varies the CPU a request holds. */
  hop: { meanMs: number; p50Ms: number; p99Ms: number; rateRps: number };
  /** Shape of a request's hold on a server, mean 1; null: no histogram buckets (an older results.json), exponential is assumed. */
  shape: QuantileTable | null;
  /** Peak resident memory of one replica, MB. */
  rssMB: number;
}

export interface TopologyInput {
  topology: 'monolith' | 'microservices';
  implementation: string;
  /** The model served: results' model, or the sweep model. */
  model: string;
  /** Network hops a request takes (1 or 2). */
  hops: number;
  /** End-to-end latency with the least queueing measured (one run: see baseRunOf), ms. */
  base: QuantileTable;
  baseRateRps: number;
  /** How many runs the base was chosen from (the one with the lower-median p99). */
  baseCandidates: number;
  /** The base's median (ms), and the busiest station's utilization where it was measured (as it ran). */
  baseMedianMs: number;
  baseUtilization: number;
  tiers: TierInput[];
  /** The gateway's own time per request at low load (its hop minus the prediction's), ms. */
  gatewayOwnMs: number | null;
}
