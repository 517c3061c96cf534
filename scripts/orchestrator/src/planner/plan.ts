import type { TopologyInput, Workload } from './inputs.js';
import type { PriceSheet } from './prices.js';
import { cheapest, type TopologyPlan } from './size.js';
import type { PredictOptions } from './stations.js';

export interface PlanOptions {
  rateRps: number;
  sloMs: number;
  rttMs: number;
  coresPerReplica: number;
  arrival: 'poisson' | 'constant';
  prices: PriceSheet;
  requests?: number;
  seed?: number;
}

export interface WorkloadPlan {
  workload: { source: string; runId: string; implementation: string; model: string };
  rateRps: number;
  sloMs: number;
  monolith: TopologyPlan | null;
  microservices: TopologyPlan | null;
  /** The cheaper topology and by how much (per hour); null when either has no plan. */
  cheaper: { topology: string; byPerHour: number; byPct: number } | null;
  /** Every measured input the plan rests on, and every assumption it makes, in words. */
  assumptions: string[];
  inputs: Record<string, TierSummary[]>;
  /** The gateway's own time per request at low load (its hop minus the prediction's), ms. */
  gatewayOwnMs: number | null;
}

export interface TierSummary {
  tier: string;
  marginalCpuMs: number;
  idleCores: number;
  fit: string;
  lowLoadCpuMs: number;
  serviceP50Ms: number;
  serviceP99Ms: number;
  rssMB: number;
}

// 200,000 simulated requests: 2,000 above the p99, so its draw-to-draw spread is about 1 %.
export const SIMULATED_REQUESTS = 200_000;

export const modelOptions = (o: Pick<PlanOptions, 'arrival' | 'rttMs' | 'requests' | 'seed'>): PredictOptions => ({
  arrival: o.arrival,
  rttMs: o.rttMs,
  requests: o.requests ?? SIMULATED_REQUESTS,
  seed: o.seed ?? 1,
});

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function tierSummaries(t: TopologyInput): TierSummary[] {
  return t.tiers.map((x) => ({
    tier: x.kind,
    marginalCpuMs: r3(x.marginalCpuMs),
    idleCores: r3(x.idleCores),
    fit:
      x.fit.method === 'least-squares'
        ? `least squares over ${x.fit.points} replica-runs${x.fit.from ? ` of ${x.fit.from}’s (its own too few to fit)` : ''}, ${Math.round(x.fit.minRps)}–${Math.round(x.fit.maxRps)} req/s a replica, R² ${x.fit.r2?.toFixed(3)}`
        : `CPU per request at the highest rate (${Math.round(x.fit.maxRps)} req/s): too few rates to fit`,
    lowLoadCpuMs: r3(x.lowLoadCpuMs),
    serviceP50Ms: x.hop.p50Ms,
    serviceP99Ms: x.hop.p99Ms,
    rssMB: x.rssMB,
  }));
}

export function assumptionsOf(w: Workload, o: PlanOptions): string[] {
  return [
    `Arrivals: open loop, ${o.arrival === 'poisson' ? 'Poisson' : 'constant-rate'}, ${o.rateRps} req/s; SLO p99 ≤ ${o.sloMs} ms.`,
    'Model: a discrete-event simulation of every request through each tier in turn (FIFO at each replica, round-robin balancing, as the process backend and the gateway balance), 200,000 requests, seeded.',
    'A request holds a server of each tier for that tier’s CPU per request: the slope of CPU against rate, fitted on every run that kept up (the idle cost at no load is the intercept; it slows the replica by the share of its core it takes). Its variability is the shape of that tier’s own service-time histogram at low load.',
    'Latency = the end-to-end latency measured at the lowest load (client, loopback and every tier’s own time; of the lowest rate’s runs, topped up to three by the next rates’ where the busiest tier was at most 75 % busy, the one with the lower-median p99: a noise episode of the machine lands in one run), plus the queueing the simulation adds, plus the round trips.',
    `Network: ${o.rttMs} ms round trip per hop (${o.rttMs === 0 ? 'loopback, as measured' : 'a parameter, not measured'}).`,
    `A replica: ${o.coresPerReplica} core(s), ${o.coresPerReplica === 1 ? 'one event loop, as our services run' : `${o.coresPerReplica} workers with a copy of the service each (memory × ${o.coresPerReplica})`}; cores as fast as this machine’s (${w.serverCores} server core(s) measured).`,
    `Prices: ${o.prices.name}: ${o.prices.vcpuHour} ${o.prices.currency} per vCPU-hour, ${o.prices.gbHour} per GB-hour; memory given = peak RSS × ${o.prices.memory.headroom}, in ${o.prices.memory.stepGB} GB steps, at least ${o.prices.memory.minGBPerVcpu} GB per vCPU. Source: ${o.prices.source}.`,
    'Not modelled: errors and retries, autoscaling, the balancer’s own cost (a cloud load balancer in front of either), cross-zone traffic, noisy neighbours.',
  ];
}

export function planWorkload(w: Workload, o: PlanOptions): WorkloadPlan {
  const req = {
    rateRps: o.rateRps,
    sloMs: o.sloMs,
    serversPerReplica: o.coresPerReplica,
    prices: o.prices,
    model: modelOptions(o),
  };
  const of = (t: string) => {
    const input = w.topologies.find((x) => x.topology === t);
    return input ? cheapest(input, req) : null;
  };
  const monolith = of('monolith');
  const microservices = of('microservices');
  let cheaper: WorkloadPlan['cheaper'] = null;
  if (monolith?.feasible && microservices?.feasible) {
    const [lo, hi] =
      monolith.costPerHour <= microservices.costPerHour ? [monolith, microservices] : [microservices, monolith];
    cheaper = {
      topology: lo.topology,
      byPerHour: hi.costPerHour - lo.costPerHour,
      byPct: Math.round(((hi.costPerHour - lo.costPerHour) / hi.costPerHour) * 1000) / 10,
    };
  }
  return {
    workload: { source: w.source, runId: w.runId, implementation: w.implementation, model: w.model },
    rateRps: o.rateRps,
    sloMs: o.sloMs,
    monolith,
    microservices,
    cheaper,
    assumptions: assumptionsOf(w, o),
    inputs: Object.fromEntries(w.topologies.map((t) => [t.topology, tierSummaries(t)])),
    gatewayOwnMs: w.topologies.find((t) => t.topology === 'microservices')?.gatewayOwnMs ?? null,
  };
}
