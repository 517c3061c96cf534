import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_PATH, loadModel, train, writeFileAtomic } from '@mlbench/model';
import { deployProcesses, type ProcessDeployment } from './backends/process.js';
import type { Deployment, Topology } from './backends/types.js';
import { probeAt, searchCapacity } from './capacity.js';
import { DriverProcess } from './driver/client.js';
import { K6Driver } from './driver/k6.js';
import type { LoadDriver } from './driver/types.js';
import type { FaultSpec } from './faults.js';
import { describeMachine, type Pinning } from './machine.js';
import { measureFaultRun } from './measure/fault.js';
import { measureRun, type RunContext, warmDeployment } from './measure/run.js';
import type { Plan } from './plan.js';
import type { Progress } from './progress.js';
import { runWindow } from './prometheus/api.js';
import { DriverMetrics } from './prometheus/driver-metrics.js';
import { deploymentTargets, startLocalPrometheus } from './prometheus/local.js';
import { writeReports } from './report/write.js';
import {
  type CapacityResult,
  createRunDir,
  type ResultsFile,
  type RunResult,
  SCHEMA_VERSION,
  writeResults,
} from './results.js';
import { atRate, type Scenario } from './scenario.js';
import { summarize } from './summary.js';

export interface BenchOptions {
  plan: Plan;
  /** process: local processes (default); docker: Compose + the Docker API; swarm: a stack + service updates. */
  backend?: 'process' | 'docker' | 'swarm';
  /** builtin: mlbench's open-loop driver (default); k6: the scripts in loadtests/k6. */
  driver?: 'builtin' | 'k6';
  scenario: Scenario;
  topologies: Topology[];
  replicas: number[];
  trials: number;
  capacity: boolean;
  sweep: boolean;
  outDir: string;
  runId: string;
  pinning: Pinning;
  minDurationMs: number;
  progress: Progress;
  signal: AbortSignal;
  modelPath?: string;
  /** Run a local Prometheus beside the bench (results/<id>/prometheus) and record its view of every run. */
  withPrometheus?: boolean;
  /** Inject this fault into one replica in every trial (resilience runs; no capacity search or sweep). */
  fault?: FaultSpec;
}

export class BenchAborted extends Error {
  override name = 'BenchAborted';
}

const MODEL_DIR = join(DEFAULT_MODEL_PATH, '..');
/** What a backend's components are, for the progress log. */
const UNITS = { process: 'processes', docker: 'containers', swarm: 'tasks' } as const;

/** The model for a feature count: the default one, or a cached artifact trained on first use. */
async function modelFor(features: number, defaultPath: string): Promise<string> {
  const model = await loadModel(defaultPath);
  if (model.featureCount === features) return defaultPath;
  const path = join(MODEL_DIR, `linear-f${features}.json`);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (!exists) await writeFileAtomic(path, JSON.stringify(train({ features })));
  return path;
}

/** Prometheus's own numbers for every run's window, after one more scrape has landed. */
async function recordPrometheusView(url: string, runs: RunResult[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 2_500));
  for (const r of runs) {
    const start = Date.parse(r.startedAt);
    r.prometheus = await runWindow(url, r.topology, start, start + r.durationS * 1000);
  }
}

export function plannedRuns(
  o: Pick<BenchOptions, 'plan' | 'topologies' | 'replicas' | 'trials' | 'capacity' | 'sweep' | 'fault'>,
) {
  const trials = o.topologies.length * o.replicas.length * o.trials;
  const searches = o.capacity && o.plan.capacity && !o.fault ? o.topologies.length * o.replicas.length : 0;
  // Each search is preceded by a warm-up, which shows as a run of its own.
  const capacity = searches * ((o.plan.capacity?.maxProbes ?? 0) + 1);
  const sweep = o.sweep && !o.fault ? o.plan.sweepFeatures.length * o.topologies.length : 0;
  return trials + capacity + sweep;
}

/**
 * Run a plan: for each replica count, deploy every topology, run interleaved trials
 * (A B A B …), then search capacity; then sweep model cost. results.json is rewritten
 * (atomically) after every run, so an interrupted bench leaves everything measured so far.
 */
export async function runBench(o: BenchOptions): Promise<{ dir: string; results: ResultsFile }> {
  const dir = await createRunDir(o.outDir, o.runId);
  const backend = o.backend ?? 'process';
  // Images carry the default model only; the sweep's other feature counts need the process backend.
  const sweep = o.sweep && !o.fault && backend === 'process';
  const modelPath = o.modelPath ?? DEFAULT_MODEL_PATH;
  const model = await loadModel(modelPath);
  if (model.featureCount !== o.scenario.payload.features)
    throw new Error(
      `scenario ${o.scenario.name} sends ${o.scenario.payload.features} features but the model ${modelPath} takes ${model.featureCount}`,
    );
  const results: ResultsFile = {
    schemaVersion: SCHEMA_VERSION,
    runId: o.runId,
    status: 'running',
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    config: {
      plan: o.plan.name,
      backend,
      driver: o.driver ?? 'builtin',
      topologies: o.topologies,
      replicas: o.replicas,
      trials: o.trials,
      interleaving: 'topologies alternate within each trial (A B A B …), one deployment per topology and replica count',
      scenario: o.scenario,
      slo: o.scenario.slo,
      capacitySearch: o.capacity && !o.fault ? o.plan.capacity : null,
      fault: o.fault ?? null,
      sweep: sweep ? { features: o.plan.sweepFeatures, rps: o.plan.sweepRps, durationMs: o.plan.sweepMs } : null,
      pinning: o.pinning,
      minDurationMs: o.minDurationMs,
      model: { path: modelPath, name: model.name, version: model.version, features: model.featureCount },
    },
    runs: [],
    capacity: [],
    summary: [],
  };
  await writeResults(dir, results);

  const prom = o.withPrometheus ? await startLocalPrometheus(join(dir, 'prometheus')) : undefined;
  const driverMetrics = prom ? new DriverMetrics() : undefined;
  if (prom && driverMetrics) {
    await prom.setTargets('driver', [
      { address: await driverMetrics.listen(), labels: { service: 'driver', replica: 'driver' } },
    ]);
    results.config.prometheus = { url: prom.url, dir: 'prometheus', config: 'compose/prometheus/process.yml' };
    o.progress.log(`prometheus: ${prom.url} (data in ${prom.dir})`);
  }
  const driver: LoadDriver =
    o.driver === 'k6'
      ? new K6Driver({ workDir: join(dir, 'k6'), runId: o.runId, cpus: o.pinning.driverCpus })
      : new DriverProcess({ cpus: o.pinning.driverCpus, runId: o.runId });
  const live = new Set<Deployment>();
  const onAbort = () => void driver.close();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const ctx: RunContext = {
    driver,
    driverName: o.driver ?? 'builtin',
    minDurationMs: o.minDurationMs,
    onProgress: (p) => {
      o.progress.update(p);
      driverMetrics?.observe(p);
    },
  };
  const checkAbort = () => {
    if (o.signal.aborted) throw new BenchAborted('interrupted');
  };
  /** Deploy and warm with the load it is about to get (the payload must match its model). */
  const deploy = async (t: Topology, replicas: number, path: string, warmWith: Scenario) => {
    checkAbort();
    const d =
      backend === 'docker'
        ? await (await import('./backends/docker.js')).deployDocker(t, replicas, {
            serverCpus: o.pinning.serverCpus,
          })
        : backend === 'swarm'
          ? await (await import('./backends/swarm.js')).deploySwarm(t, replicas, {
              serverCpus: o.pinning.serverCpus,
            })
          : await deployProcesses(t, replicas, { modelPath: path, runId: o.runId, serverCpus: o.pinning.serverCpus });
    live.add(d);
    await prom?.setTargets(d.topology, deploymentTargets(d));
    await warmDeployment(ctx, d, warmWith, o.plan.deployWarmupMs);
    return d;
  };
  const undeploy = async (d: Deployment) => {
    live.delete(d);
    await prom?.removeTargets(d.topology);
    await d.stop();
  };
  const record = async (r: RunResult) => {
    results.runs.push(r);
    results.summary = summarize(results.runs, results.capacity);
    await writeResults(dir, results);
    const flag = r.fault
      ? `${r.fault.spec} on ${r.fault.target}: lost ${r.fault.requestsLost}, errors back to zero after ${r.fault.timeToZeroErrorsS} s, p99 during fault ${r.fault.p99DuringFaultMs} ms`
      : r.valid
        ? r.sloMet
          ? 'SLO met'
          : 'SLO missed'
        : `INVALID: ${r.invalidReasons.join('; ')}`;
    o.progress.log(
      `  ${r.phase} ${r.topology}×${r.replicas}${r.phase === 'sweep' ? ` F=${r.features}` : ` trial ${r.trial}`}: ` +
        `${r.achievedRps}/${r.targetRps} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
        `errors ${r.errors.count}, dropped ${r.dropped} — ${flag}${r.driverSaturated ? ` (driver behind schedule: lag p99 ${r.scheduleLagMs.p99} ms)` : ''}`,
    );
  };
  /** Every measured run: a fresh progress line, and an abort (not a crash) if interrupted. */
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    checkAbort();
    o.progress.nextRun();
    try {
      return await work();
    } catch (err) {
      checkAbort();
      throw err;
    }
  };
  const measure = (d: Deployment, s: Scenario, phase: RunResult['phase'], trial: number) =>
    guarded(() => measureRun(ctx, d, s, { phase, trial }));

  try {
    for (const replicas of o.replicas) {
      const deployments = new Map<Topology, Deployment>();
      for (const t of o.topologies) deployments.set(t, await deploy(t, replicas, modelPath, o.scenario));
      o.progress.log(
        `deployed ${[...deployments.values()].map((d) => `${d.topology}×${replicas} (${d.components.length} ${UNITS[backend]})`).join(', ')}`,
      );
      for (let trial = 1; trial <= o.trials; trial++) {
        for (const t of o.topologies) {
          const d = deployments.get(t)!;
          const fault = o.fault;
          await record(
            await (fault
              ? guarded(() => measureFaultRun(ctx, d as ProcessDeployment, o.scenario, fault, trial))
              : measure(d, o.scenario, 'trial', trial)),
          );
        }
      }
      if (o.capacity && o.plan.capacity && !o.fault) {
        const c = o.plan.capacity;
        for (const t of o.topologies) {
          const d = deployments.get(t)!;
          // It sat idle while the other topology was measured: bring it back to steady state.
          await guarded(() => warmDeployment(ctx, d, o.scenario, o.plan.deployWarmupMs));
          const found = await searchCapacity(async (rate) => {
            const { probe, run } = await guarded(() => probeAt(ctx, d, o.scenario, rate, c));
            await record(run);
            return probe;
          }, c);
          const entry: CapacityResult = { topology: t, replicas, ...found };
          results.capacity.push(entry);
          results.summary = summarize(results.runs, results.capacity);
          await writeResults(dir, results);
          o.progress.log(`  capacity ${t}×${replicas}: ${found.rateRps} req/s at p99 ≤ ${o.scenario.slo.p99Ms} ms`);
        }
      }
      for (const d of deployments.values()) await undeploy(d);
    }
    if (o.sweep && !o.fault && !sweep)
      o.progress.log('model-cost sweep skipped: it needs --backend process (images carry one model)');
    if (sweep) {
      for (const features of o.plan.sweepFeatures) {
        const path = await modelFor(features, modelPath);
        const s = atRate(
          { ...o.scenario, payload: { ...o.scenario.payload, features } },
          o.plan.sweepRps,
          o.plan.sweepMs,
          Math.min(o.scenario.warmupMs, 2000),
        );
        for (const t of o.topologies) {
          const d = await deploy(t, 1, path, s);
          try {
            await record(await measure(d, s, 'sweep', 1));
          } finally {
            await undeploy(d);
          }
        }
      }
    }
    results.status = 'complete';
  } catch (err) {
    results.status = err instanceof BenchAborted || o.signal.aborted ? 'incomplete' : 'failed';
    results.statusReason = o.signal.aborted ? 'interrupted by signal' : (err as Error).message;
    throw err;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    o.progress.stop();
    await Promise.allSettled([driver.close(), ...[...live].map((d) => d.stop())]);
    if (prom) {
      await recordPrometheusView(prom.url, results.runs).catch((err: Error) =>
        o.progress.log(`prometheus: could not read run windows: ${err.message}`),
      );
      await Promise.allSettled([prom.stop(), driverMetrics?.close()]);
    }
    results.finishedAt = new Date().toISOString();
    results.summary = summarize(results.runs, results.capacity);
    await writeResults(dir, results);
    await writeReports(dir, results).catch(() => undefined);
  }
  return { dir, results };
}
