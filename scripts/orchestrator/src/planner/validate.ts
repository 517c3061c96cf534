import type { ResultsFile } from '../results/index.js';
import { gatewaysOf, implementationOf } from '../results/labels.js';
import { medianOf } from '../stats/bootstrap.js';
import { configInputs, type TopologyInput, type Workload } from './inputs.js';
import { type PredictOptions, predict, predictedCapacity, type Sizing } from './stations.js';

export interface CapacityCheck {
  implementation: string;
  /** A model of the run's model-cost sweep (at that point's SLO); absent: the run's own model. */
  model?: string;
  /** The SLO this capacity was searched at (a sweep point's own). */
  sloMs?: number;
  topology: string;
  replicas: number;
  gateways: number;
  predictedRps: number;
  /** The search's bracket: capacity lies in [lo, hi); hi null: no failure found (lo is a floor). */
  measuredLo: number;
  measuredHi: number | null;
  limitedBy: string;
  /**
   * The capacity measured: the bracket's geometric middle √(lo·hi) (the search says only that
   * capacity lies in [lo, hi), and lo alone biases every error upwards by up to the bracket's
   * width: 25 % where confirmations spent the probe budget); lo where no failure bounds it.
   */
  measured: number;
  /** (predicted − measured) / measured; null when lo is only a floor and the prediction is above it. */
  errorPct: number | null;
  /** The error against hi and against lo: where the true capacity lies in the bracket, the error lies in this range. */
  errorRangePct: [number, number] | null;
  /** Predicted within the bracket (or above a floor). */
  withinBracket: boolean;
}

export interface LatencyCheck {
  implementation: string;
  topology: string;
  replicas: number;
  gateways: number;
  /** trial: the bench's own rate (its runs are the model's base, so this checks the queueing only); probe: the highest passing capacity probe at ≤ 80 % of the capacity found. */
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

const topologyOf = (t: string) => (t === 'monolith' ? 'monolith' : 'microservices');

const pct = (pred: number, meas: number) => Math.round(((pred - meas) / meas) * 1000) / 10;

/** A capacity check from the search's bracket: what it measured, and the prediction's error against it. */
function checked(predictedRps: number, lo: number, hi: number | null, floorOnly: boolean) {
  const measured = !floorOnly && hi !== null ? Math.round(Math.sqrt(lo * hi)) : lo;
  return {
    measuredLo: lo,
    measuredHi: floorOnly ? null : hi,
    measured,
    errorPct: floorOnly && predictedRps >= lo ? null : measured > 0 ? pct(predictedRps, measured) : null,
    errorRangePct:
      !floorOnly && hi !== null && lo > 0 ? ([pct(predictedRps, hi), pct(predictedRps, lo)] as [number, number]) : null,
    // A search that recorded no failure (results.json before the sweep kept one) has no bracket.
    withinBracket: predictedRps >= lo && (floorOnly || (hi !== null && predictedRps < hi)),
  };
}

/**
 * Predict every configuration the run measured, as it ran (every server process on the same
 * core set), and set each beside its measurement: capacity at the SLO, and p99 at the rates
 * it was measured at.
 */
export function validate(res: ResultsFile, workloads: Workload[], o: PredictOptions): Validation {
  const sloMs = res.config.slo.p99Ms;
  const own = workloads.filter((w) => w.model === res.config.model.name);
  const serverCores = own[0]?.serverCores ?? res.machine.logicalCpus;
  // Each configuration from its own runs (how the processes sharing the core interfere is
  // measured, not modelled); the pooled inputs a plan uses where its own runs are too few.
  const ownInputs = configInputs(res);
  const inputOf = (
    impl: string,
    c: { topology: 'monolith' | 'microservices'; replicas: number; gateways: number },
    model = res.config.model.name,
  ): TopologyInput | undefined =>
    ownInputs(impl, model, c) ??
    workloads
      .find((w) => w.implementation === impl && w.model === model)
      ?.topologies.find((x) => x.topology === c.topology);
  const as = (replicas: number, gateways: number): Sizing => ({
    replicas,
    gateways,
    serversPerReplica: 1,
    sharedCores: serverCores,
  });
  const capacity: CapacityCheck[] = [];
  const latency: LatencyCheck[] = [];
  for (const c of res.capacity) {
    const impl = implementationOf(c);
    const g = gatewaysOf(c);
    const input = inputOf(impl, { topology: topologyOf(c.topology), replicas: c.replicas, gateways: g });
    if (!input) continue;
    const d = as(c.replicas, g);
    const predictedRps = Math.round(predictedCapacity(input, d, sloMs, o));
    const floorOnly = c.limitedBy !== 'slo' || c.failedAtRps === null;
    capacity.push({
      implementation: impl,
      topology: c.topology,
      replicas: c.replicas,
      gateways: g,
      predictedRps,
      limitedBy: c.limitedBy,
      ...checked(predictedRps, c.rateRps, c.failedAtRps, floorOnly),
    });
    // Near saturation p99 is a knife edge (a 5 % error in CPU per request moves it 10×):
    // check it at the highest passing probe at most 80 % of the capacity found, if any.
    const passing = c.probes
      .filter((p) => p.pass && p.verdict !== 'load-generator')
      .sort((a, b) => a.rateRps - b.rateRps);
    const probe = passing.filter((p) => p.rateRps <= 0.8 * c.rateRps).pop() ?? passing.pop();
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
  // Every model of the run's model-cost sweep: one replica of each tier, searched at the point's
  // own SLO. Heavier models put the monolith's capacity within the load generator's reach,
  // where the run's own model leaves only a floor.
  for (const pt of res.sweep?.points ?? []) {
    const d = as(1, pt.topology === 'microservices' ? 1 : 0);
    const input = inputOf(
      'mlbench',
      { topology: topologyOf(pt.topology), replicas: 1, gateways: d.gateways },
      pt.model,
    );
    if (!input) continue;
    const predictedRps = Math.round(predictedCapacity(input, d, pt.sloP99Ms, o));
    capacity.push({
      implementation: 'mlbench',
      model: pt.model,
      sloMs: pt.sloP99Ms,
      topology: pt.topology,
      replicas: 1,
      gateways: d.gateways,
      predictedRps,
      limitedBy: pt.capacityLimitedBy,
      ...checked(predictedRps, pt.capacityRps, pt.capacityFailedAtRps ?? null, pt.capacityLimitedBy !== 'slo'),
    });
  }
  for (const row of res.summary) {
    const impl = implementationOf(row);
    const g = gatewaysOf(row);
    const input = inputOf(impl, { topology: topologyOf(row.topology), replicas: row.replicas, gateways: g });
    if (!input || !row.validTrials) continue;
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

export interface CombinedCheck {
  implementation: string;
  model?: string;
  topology: string;
  replicas: number;
  gateways: number;
  runs: number;
  predicted: { median: number; min: number; max: number };
  /** Capacities the runs measured where the SLO ended the search; floors (load generator, search range) apart. */
  measured: { median: number; min: number; max: number; n: number } | null;
  floors: number[];
  /** (median predicted − median measured) / median measured, over the runs that measured a capacity. */
  errorPct: number | null;
  /** How far the measurement itself moved between runs: (max − min) / median. */
  measuredSpreadPct: number | null;
}

/**
 * Several runs of the same bench: per configuration, the predictions (each from its own
 * run's inputs) against the capacities measured, medians set side by side, and how far the
 * measurement itself moved between runs (a single run's error is no better than that).
 */
export function combineValidations(vs: Validation[]): CombinedCheck[] {
  const by = new Map<string, CapacityCheck[]>();
  for (const v of vs)
    for (const c of v.capacity) {
      const k = `${c.model ?? ''}|${c.implementation}|${c.topology}|${c.replicas}|${c.gateways}`;
      by.set(k, [...(by.get(k) ?? []), c]);
    }
  return [...by.values()].map((cs) => {
    const pred = cs.map((c) => c.predictedRps);
    // Measured where the server's SLO ended the search; a load-generator or range limit is a floor.
    const measuredRuns = cs.filter((c) => c.limitedBy === 'slo');
    const meas = measuredRuns.map((c) => c.measured);
    const m = meas.length ? medianOf(meas) : null;
    const p = medianOf(pred);
    // The error sets each measurement beside its own run's prediction: the runs that left only
    // a floor predicted from inputs measured on a faster or slower hour of this machine.
    const paired = measuredRuns.length ? medianOf(measuredRuns.map((c) => c.predictedRps)) : p;
    return {
      implementation: cs[0]!.implementation,
      ...(cs[0]!.model ? { model: cs[0]!.model } : {}),
      topology: cs[0]!.topology,
      replicas: cs[0]!.replicas,
      gateways: cs[0]!.gateways,
      runs: cs.length,
      predicted: { median: Math.round(p), min: Math.min(...pred), max: Math.max(...pred) },
      measured: m === null ? null : { median: m, min: Math.min(...meas), max: Math.max(...meas), n: meas.length },
      floors: cs.filter((c) => c.limitedBy !== 'slo').map((c) => c.measuredLo),
      errorPct: m ? pct(paired, m) : null,
      measuredSpreadPct:
        m && meas.length > 1 ? Math.round(((Math.max(...meas) - Math.min(...meas)) / m) * 1000) / 10 : null,
    };
  });
}
