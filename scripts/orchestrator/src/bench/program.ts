import type { Backend } from '../backends/registry.js';
import type { Topology } from '../backends/types.js';
import type { FaultSpec } from '../scenario/faults.js';
import type { Scenario } from '../scenario/scenario.js';
import type { Preset } from './presets.js';
import { parseSweepModel, type SweepModel } from './sweep.js';

export type DriverName = 'builtin' | 'k6';

/** One measurement on a deployment. */
export type Step =
  | { kind: 'trial'; topology: Topology; trial: number; implementation?: string }
  | { kind: 'fault'; topology: Topology; trial: number; fault: FaultSpec; implementation?: string }
  | { kind: 'capacity'; topology: Topology; implementation?: string }
  /** The sweep at one model cost: a capacity search, then (after both) a run at the common rate. */
  | { kind: 'sweep'; topology: Topology }
  | { kind: 'sweep-rate'; topology: Topology };

/**
 * Deployments that live together, and the steps measured on them in order. Trials
 * alternate topologies (A B A B …) inside one group; the sweep deploys one topology at a
 * time with its own model and load.
 */
export interface DeploymentGroup {
  replicas: number;
  /** Gateways the microservices run with (the monolith has none). */
  gateways: number;
  topologies: Topology[];
  /** The sweep model to serve; null: the bench's model. */
  model: SweepModel | null;
  /** The load the steps run (and the warm-up after deploying uses). */
  scenario: Scenario;
  steps: Step[];
}

/**
 * What a bench will do, built as data before anything starts: which deployments, which
 * runs on each, in which order, with which driver. The runner executes it; results.json
 * records it; the progress bar counts it.
 */
export interface BenchProgram {
  preset: Preset;
  scenario: Scenario;
  backend: Backend;
  driver: DriverName;
  topologies: Topology[];
  replicas: number[];
  gateways: number[];
  trials: number;
  fault: FaultSpec | null;
  capacity: Preset['capacity'];
  sweep: Preset['sweep'];
  groups: DeploymentGroup[];
  /**
   * Several implementations in one run (--backend command with several deployment files):
   * each group deploys every one of them, and trials alternate over all (A₁ B₁ A₂ B₂ …).
   * [undefined]: the backend's one implementation.
   */
  implementations: (string | undefined)[];
  /** Measured runs the program makes (each capacity search counts its probe budget and warm-up). */
  runCount: number;
  /** What was asked for and will not run, and why. */
  notes: string[];
}

export interface ProgramRequest {
  preset: Preset;
  scenario: Scenario;
  backend: Backend;
  driver?: DriverName;
  topologies: Topology[];
  replicas: number[];
  /** Gateway counts for the microservices (default [1]). */
  gateways?: number[];
  trials: number;
  /** Asked for (the preset may still have none). */
  capacity: boolean;
  sweep: boolean;
  fault?: FaultSpec | undefined;
}

export function stepRuns(step: Step, capacity: Preset['capacity'], sweep: Preset['sweep'] = null): number {
  // Each search (the preset's, or a sweep point's) is preceded by a warm-up, a run of its own.
  if (step.kind === 'capacity') return (capacity?.maxProbes ?? 0) + 1;
  if (step.kind === 'sweep') return (sweep?.capacity.maxProbes ?? 0) + 1;
  return 1;
}

export function buildProgram(r: ProgramRequest): BenchProgram {
  const fault = r.fault ?? null;
  const notes: string[] = [];
  const capacity = r.capacity && !fault ? r.preset.capacity : null;
  const sweepAsked = r.sweep && !fault && (r.preset.sweep?.models.length ?? 0) > 0;
  // Images carry the default model only; the sweep's other models need any model.
  if (sweepAsked && !r.backend.anyModel)
    notes.push(`model-cost sweep skipped: it needs --backend process or docker (Swarm tasks carry the image's model)`);
  if (sweepAsked && r.topologies.length < 2)
    notes.push('model-cost sweep skipped: it compares both topologies (--topology both)');
  const sweep = sweepAsked && r.backend.anyModel && r.topologies.length === 2 ? r.preset.sweep : null;

  const gatewayCounts = r.gateways?.length ? r.gateways : [1];
  const implementations: (string | undefined)[] = r.backend.implementations ?? [undefined];
  const measured = (replicas: number, topologies: Topology[], gateways: number): DeploymentGroup => {
    const steps: Step[] = [];
    const of = (implementation: string | undefined) => (implementation ? { implementation } : {});
    for (let trial = 1; trial <= r.trials; trial++)
      for (const impl of implementations)
        for (const topology of topologies)
          steps.push(
            fault
              ? { kind: 'fault', topology, trial, fault, ...of(impl) }
              : { kind: 'trial', topology, trial, ...of(impl) },
          );
    if (capacity)
      for (const impl of implementations)
        for (const topology of topologies) steps.push({ kind: 'capacity', topology, ...of(impl) });
    return { replicas, gateways, topologies, model: null, scenario: r.scenario, steps };
  };
  // The monolith interleaves with the first gateway count; the tiers then scale apart: each
  // further gateway count is microservices alone, over the same prediction replicas.
  const groups: DeploymentGroup[] = r.replicas.flatMap((replicas) => [
    measured(replicas, r.topologies, gatewayCounts[0]!),
    ...(r.topologies.includes('microservices')
      ? gatewayCounts.slice(1).map((g) => measured(replicas, ['microservices'], g))
      : []),
  ]);
  // Both topologies deployed together on the same cores, one replica each, per model cost.
  for (const label of sweep?.models ?? []) {
    const model = parseSweepModel(label);
    const features = model.family === 'linear' ? model.features : 8;
    const scenario = { ...r.scenario, payload: { ...r.scenario.payload, features } };
    const steps: Step[] = [
      ...r.topologies.map((topology): Step => ({ kind: 'sweep', topology })),
      ...r.topologies.map((topology): Step => ({ kind: 'sweep-rate', topology })),
    ];
    groups.push({ replicas: 1, gateways: 1, topologies: r.topologies, model, scenario, steps });
  }
  const runCount = groups.flatMap((g) => g.steps).reduce((n, s) => n + stepRuns(s, capacity, sweep), 0);
  return {
    preset: r.preset,
    scenario: r.scenario,
    backend: r.backend,
    driver: r.driver ?? 'builtin',
    topologies: r.topologies,
    replicas: r.replicas,
    gateways: gatewayCounts,
    trials: r.trials,
    fault,
    capacity,
    sweep,
    groups,
    implementations,
    runCount,
    notes,
  };
}
