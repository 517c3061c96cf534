import type { Backend } from './backends/registry.js';
import type { Topology } from './backends/types.js';
import type { FaultSpec } from './fault-spec.js';
import type { Plan } from './plan.js';
import { atRate, type Scenario } from './scenario.js';

export type DriverName = 'builtin' | 'k6';

/** One measurement on a deployment. */
export type Step =
  | { kind: 'trial'; topology: Topology; trial: number }
  | { kind: 'fault'; topology: Topology; trial: number; fault: FaultSpec }
  | { kind: 'capacity'; topology: Topology }
  | { kind: 'sweep'; topology: Topology };

/**
 * Deployments that live together, and the steps measured on them in order. Trials
 * alternate topologies (A B A B …) inside one group; the sweep deploys one topology at a
 * time with its own model and load.
 */
export interface DeploymentGroup {
  replicas: number;
  topologies: Topology[];
  /** Feature count of the model to serve; null: the bench's model. */
  features: number | null;
  /** The load the steps run (and the warm-up after deploying uses). */
  scenario: Scenario;
  steps: Step[];
}

/**
 * What a bench will do, built as data before anything starts: which deployments, which
 * runs on each, in which order, with which driver. The runner executes it; results.json
 * records it; the progress bar counts it.
 */
export interface BenchPlan {
  preset: Plan;
  scenario: Scenario;
  backend: Backend;
  driver: DriverName;
  topologies: Topology[];
  replicas: number[];
  trials: number;
  fault: FaultSpec | null;
  capacity: Plan['capacity'];
  sweep: { features: number[]; rps: number; durationMs: number } | null;
  groups: DeploymentGroup[];
  /** Measured runs the plan makes (each capacity search counts its probe budget and warm-up). */
  runCount: number;
  /** What was asked for and will not run, and why. */
  notes: string[];
}

export interface PlanRequest {
  preset: Plan;
  scenario: Scenario;
  backend: Backend;
  driver?: DriverName;
  topologies: Topology[];
  replicas: number[];
  trials: number;
  /** Asked for (the preset may still have none). */
  capacity: boolean;
  sweep: boolean;
  fault?: FaultSpec | undefined;
}

export function stepRuns(step: Step, capacity: Plan['capacity']): number {
  // Each search is preceded by a warm-up, which shows as a run of its own.
  return step.kind === 'capacity' ? (capacity?.maxProbes ?? 0) + 1 : 1;
}

export function buildPlan(r: PlanRequest): BenchPlan {
  const fault = r.fault ?? null;
  const notes: string[] = [];
  const capacity = r.capacity && !fault ? r.preset.capacity : null;
  const sweepAsked = r.sweep && !fault && r.preset.sweepFeatures.length > 0;
  // Images carry the default model only; the sweep's other feature counts need any model.
  if (sweepAsked && !r.backend.anyModel)
    notes.push(`model-cost sweep skipped: it needs --backend process (images carry one model)`);
  const sweep =
    sweepAsked && r.backend.anyModel
      ? { features: r.preset.sweepFeatures, rps: r.preset.sweepRps, durationMs: r.preset.sweepMs }
      : null;

  const groups: DeploymentGroup[] = r.replicas.map((replicas) => {
    const steps: Step[] = [];
    for (let trial = 1; trial <= r.trials; trial++)
      for (const topology of r.topologies)
        steps.push(fault ? { kind: 'fault', topology, trial, fault } : { kind: 'trial', topology, trial });
    if (capacity) for (const topology of r.topologies) steps.push({ kind: 'capacity', topology });
    return { replicas, topologies: r.topologies, features: null, scenario: r.scenario, steps };
  });
  for (const features of sweep?.features ?? []) {
    const scenario = atRate(
      { ...r.scenario, payload: { ...r.scenario.payload, features } },
      sweep!.rps,
      sweep!.durationMs,
      Math.min(r.scenario.warmupMs, 2000),
    );
    for (const topology of r.topologies)
      groups.push({ replicas: 1, topologies: [topology], features, scenario, steps: [{ kind: 'sweep', topology }] });
  }
  const runCount = groups.flatMap((g) => g.steps).reduce((n, s) => n + stepRuns(s, capacity), 0);
  return {
    preset: r.preset,
    scenario: r.scenario,
    backend: r.backend,
    driver: r.driver ?? 'builtin',
    topologies: r.topologies,
    replicas: r.replicas,
    trials: r.trials,
    fault,
    capacity,
    sweep,
    groups,
    runCount,
    notes,
  };
}
