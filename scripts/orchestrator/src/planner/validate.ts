import { gatewaysOf, implementationOf } from '../labels.js';
import type { ResultsFile } from '../results.js';
import type { Workload } from './inputs.js';
import { type Deployment, type ModelOptions, predict, predictedCapacity } from './model.js';

export interface CapacityCheck {
  implementation: string;
  topology: string;
  replicas: number;
  gateways: number;
  predictedRps: number;
  /** The search's bracket: capacity lies in [lo, hi); hi null: no failure found (lo is a floor). */
  measuredLo: number;
  measuredHi: number | null;
  limitedBy: string;
  /** (predicted − measured) / measured, measured = the bracket's lo; null when lo is only a floor and the prediction is above it. */
  errorPct: number | null;
  /** Predicted within the bracket (or above a floor). */
  withinBracket: boolean;
}

export interface LatencyCheck {
  implementation: string;
  topology: string;
  replicas: number;
  gateways: number;
  /** trial: the bench's own rate (its runs are the model's base, so this checks the queueing only); probe: the highest passing capacity probe. */
  at: 'trial' | 'probe';
  rateRps: number;
  predictedP99Ms: number;
  measuredP99Ms: number;
  errorPct: number;
}

export interface Validation {
  runId: string;
  sloMs: number;
  serverCores: number;
  capacity: CapacityCheck[];
  latency: LatencyCheck[];
}

const pct = (pred: number, meas: number) => Math.round(((pred - meas) / meas) * 1000) / 10;

/**
 * Predict every configuration the run measured, as it ran (every server process on the same
 * core set), and set each beside its measurement: capacity at the SLO, and p99 at the rates
 * it was measured at.
 */
export function validate(res: ResultsFile, workloads: Workload[], o: ModelOptions): Validation {
  const sloMs = res.config.slo.p99Ms;
  const own = workloads.filter((w) => w.model === res.config.model.name);
  const serverCores = own[0]?.serverCores ?? res.machine.logicalCpus;
  const inputOf = (impl: string, topology: string) =>
    own.find((w) => w.implementation === impl)?.topologies.find((t) => t.topology === topology);
  const as = (replicas: number, gateways: number): Deployment => ({
    replicas,
    gateways,
    serversPerReplica: 1,
    sharedCores: serverCores,
  });
  const capacity: CapacityCheck[] = [];
  const latency: LatencyCheck[] = [];
  for (const c of res.capacity) {
    const impl = implementationOf(c);
    const input = inputOf(impl, c.topology);
    if (!input) continue;
    const g = gatewaysOf(c);
    const d = as(c.replicas, g);
    const predictedRps = Math.round(predictedCapacity(input, d, sloMs, o));
    const floorOnly = c.limitedBy !== 'slo' || c.failedAtRps === null;
    const hi = floorOnly ? null : c.failedAtRps;
    const withinBracket = predictedRps >= c.rateRps && (hi === null || predictedRps < hi);
    capacity.push({
      implementation: impl,
      topology: c.topology,
      replicas: c.replicas,
      gateways: g,
      predictedRps,
      measuredLo: c.rateRps,
      measuredHi: hi,
      limitedBy: c.limitedBy,
      errorPct: floorOnly && predictedRps >= c.rateRps ? null : c.rateRps > 0 ? pct(predictedRps, c.rateRps) : null,
      withinBracket,
    });
    const passing = c.probes.filter((p) => p.pass && p.rateRps === c.rateRps);
    const probe = passing[passing.length - 1];
    if (probe && probe.p99Ms > 0) {
      const sim = predict(input, d, probe.achievedRps, o);
      latency.push({
        implementation: impl,
        topology: c.topology,
        replicas: c.replicas,
        gateways: g,
        at: 'probe',
        rateRps: probe.achievedRps,
        predictedP99Ms: sim.p99Ms,
        measuredP99Ms: probe.p99Ms,
        errorPct: pct(sim.p99Ms, probe.p99Ms),
      });
    }
  }
  for (const row of res.summary) {
    const impl = implementationOf(row);
    const input = inputOf(impl, row.topology);
    if (!input || !row.validTrials) continue;
    const g = gatewaysOf(row);
    const sim = predict(input, as(row.replicas, g), row.achievedRps.median, o);
    latency.push({
      implementation: impl,
      topology: row.topology,
      replicas: row.replicas,
      gateways: g,
      at: 'trial',
      rateRps: row.achievedRps.median,
      predictedP99Ms: sim.p99Ms,
      measuredP99Ms: row.p99Ms.median,
      errorPct: pct(sim.p99Ms, row.p99Ms.median),
    });
  }
  latency.sort(
    (a, b) =>
      a.implementation.localeCompare(b.implementation) ||
      a.topology.localeCompare(b.topology) ||
      a.replicas - b.replicas ||
      a.gateways - b.gateways ||
      a.rateRps - b.rateRps,
  );
  return { runId: res.runId, sloMs, serverCores, capacity, latency };
}
