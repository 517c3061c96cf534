import { join } from 'node:path';
import type { GatewayKind } from './backends/nginx.js';
import type { ProcessDeployment } from './backends/process.js';
import type { SwarmDeployment } from './backends/swarm.js';
import type { Deployment, Topology } from './backends/types.js';
import type { BenchPlan, DeploymentGroup, Step } from './bench-plan.js';
import { newDriver, newResults, resolveModel, runLine } from './bench-setup.js';
import { type CapacityFound, probeAt, searchCapacity } from './capacity.js';
import { isNodeFault } from './fault-spec.js';
import { configLabel } from './labels.js';
import { allowedCpus, type Pinning, parseCpuList } from './machine.js';
import { measureFaultRun } from './measure/fault-run.js';
import { measureNodeLossRun } from './measure/node-loss-run.js';
import { MIN_VALID_REQUESTS, measureRun, type RunContext, warmDeployment } from './measure/run.js';
import type { Progress } from './progress.js';
import { runWindow } from './prometheus/api.js';
import { DriverMetrics } from './prometheus/driver-metrics.js';
import { deploymentTargets, startLocalPrometheus } from './prometheus/local.js';
import { writeReports } from './report/write.js';
import { type CapacityResult, createRunDir, type ResultsFile, type RunResult, writeResults } from './results.js';
import { atRate, type Scenario } from './scenario.js';
import { summarize } from './summary.js';
import {
  commonRateFigures,
  findCrossover,
  memoryAtEqualRate,
  pointCapacity,
  pointSlo,
  type ServedModel,
  servedModel,
  sweepModelLabel,
  sweepModelPath,
  sweepPointOf,
} from './sweep.js';

/** How to run a plan: where results go, the CPU split, and the run's controls. */
export interface RunOptions {
  outDir: string;
  runId: string;
  pinning: Pinning;
  minDurationMs: number;
  progress: Progress;
  signal: AbortSignal;
  modelPath?: string | undefined;
  /** API-tier preprocessing on the monolith and the gateway (@mlbench/preprocess syntax). */
  preprocess?: string | undefined;
  /** The microservices' gateway: ours (fastify, default) or nginx (process backend). */
  gateway?: GatewayKind | undefined;
  /** Run a local Prometheus beside the bench (results/<id>/prometheus) and record its view of every run. */
  withPrometheus?: boolean;
  /** Built-in driver processes, each on a driver CPU of its own (default 1). */
  driverWorkers?: number;
}

export class BenchAborted extends Error {
  override name = 'BenchAborted';
}

/** A sweep point's deployment: what its replica serves, and the load it is judged under. */
interface PointState {
  label: string;
  served: ServedModel;
  scenario: Scenario;
  /** The model's cost at this point, the same for both topologies (set before the searches). */
  inferenceMs?: number;
  capacity?: CapacityFound;
}

/** Prometheus's own numbers for every run's window, after one more scrape has landed. */
async function recordPrometheusView(url: string, runs: RunResult[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 2_500));
  for (const r of runs) {
    const start = Date.parse(r.startedAt);
    r.prometheus = await runWindow(url, r.topology, start, start + r.durationS * 1000);
  }
}

/**
 * Execute a plan: deploy each group, measure its steps in order (trials interleaved A B A
 * B …, then capacity searches), undeploy; results.json is rewritten (atomically) after
 * every run, so an interrupted bench leaves everything measured so far.
 */
export async function runBench(plan: BenchPlan, o: RunOptions): Promise<{ dir: string; results: ResultsFile }> {
  const { pre, modelPath, model } = await resolveModel(plan, o);
  const dir = await createRunDir(o.outDir, o.runId);
  const results = newResults(plan, o, modelPath, model);
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
  const driver = newDriver(plan, o, dir);
  const live = new Set<Deployment>();
  const onAbort = () => void driver.close();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const ctx: RunContext = {
    driver,
    driverName: plan.driver,
    minDurationMs: o.minDurationMs,
    serverCores: o.pinning.serverCpus ? parseCpuList(o.pinning.serverCpus).length : allowedCpus().length,
    onProgress: (p) => {
      o.progress.update(p);
      driverMetrics?.observe(p);
    },
  };
  const checkAbort = () => {
    if (o.signal.aborted) throw new BenchAborted('interrupted');
  };
  const save = async () => {
    results.summary = summarize(results.runs, results.capacity);
    await writeResults(dir, results);
  };
  const points = new Map<Deployment, PointState>();
  /**
   * Deploy and warm with the load it is about to get (the payload must match its model). A
   * sweep point reads its replica's own inference time first: it sets the point's SLO and
   * the warm-up rate (a 20 ms model warmed at 500 req/s would only queue).
   */
  const deploy = async (
    t: Topology,
    g: DeploymentGroup,
    warmMs = plan.preset.deployWarmupMs,
    implementation?: string,
  ) => {
    checkAbort();
    const path =
      g.model === null ? modelPath : await sweepModelPath(g.model, (l) => o.progress.log(l), pre?.outputFeatures);
    const d = await plan.backend.deploy(t, g.replicas, {
      extraEnv: o.preprocess ? { PREPROCESS: o.preprocess } : undefined,
      modelPath: path,
      runId: o.runId,
      serverCpus: o.pinning.serverCpus,
      gateways: t === 'microservices' ? g.gateways : undefined,
      gateway: o.gateway,
      implementation,
    });
    live.add(d);
    await prom?.setTargets(d.topology, deploymentTargets(d));
    let warmWith = g.scenario;
    if (g.model) {
      const served = await servedModel(d);
      const inferenceMs = served.usPerPrediction / 1000;
      const scenario = { ...g.scenario, slo: pointSlo(g.scenario, inferenceMs) };
      points.set(d, { label: sweepModelLabel(g.model), served, scenario });
      const rate = Math.max(5, Math.min(500, (0.3 * (ctx.serverCores ?? 1) * 1000) / Math.max(inferenceMs, 1e-3)));
      warmWith = atRate(scenario, rate, warmMs, 0);
    }
    await warmDeployment(ctx, d, warmWith, warmMs);
    return d;
  };
  const undeploy = async (d: Deployment) => {
    live.delete(d);
    await prom?.removeTargets(d.topology);
    await d.stop();
  };
  const record = async (r: RunResult) => {
    results.runs.push(r);
    await save();
    o.progress.log(runLine(r));
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
  const execute = async (step: Step, d: Deployment, g: DeploymentGroup, deployments: Map<string, Deployment>) => {
    switch (step.kind) {
      case 'trial':
        return record(await guarded(() => measureRun(ctx, d, g.scenario, { phase: 'trial', trial: step.trial })));
      case 'sweep':
        return sweepCapacity(d, g);
      case 'sweep-rate':
        return sweepAtCommonRate(d, g, deployments);
      case 'fault':
        return record(
          await guarded(() =>
            isNodeFault(step.fault.kind)
              ? measureNodeLossRun(ctx, d as SwarmDeployment, g.scenario, step.fault, step.trial)
              : measureFaultRun(ctx, d as ProcessDeployment, g.scenario, step.fault, step.trial),
          ),
        );
      case 'capacity': {
        const c = plan.capacity!;
        // It sat idle while the other topology was measured: bring it back to steady state.
        await guarded(() => warmDeployment(ctx, d, g.scenario, plan.preset.deployWarmupMs));
        const found = await searchCapacity(async (rate) => {
          const { probe, run } = await guarded(() => probeAt(ctx, d, g.scenario, rate, c));
          await record(run);
          return probe;
        }, c);
        results.capacity.push({
          topology: step.topology,
          // The deployment's own count: an external one states it, whatever the plan asked.
          replicas: d.replicas,
          gateways: d.gateways,
          ...(d.implementation && d.implementation !== 'mlbench' ? { implementation: d.implementation } : {}),
          ...found,
        } satisfies CapacityResult);
        await save();
        const bound =
          found.limitedBy === 'slo'
            ? `${found.rateRps} req/s`
            : `≥ ${found.rateRps} req/s (${found.limitedBy === 'load-generator' ? `load generator limit at ${found.loadGeneratorLimitRps} req/s` : 'search range'})`;
        o.progress.log(`  capacity ${configLabel(d)}: ${bound} at p99 ≤ ${g.scenario.slo.p99Ms} ms`);
      }
    }
  };

  /** A sweep point's capacity search, at the point's SLO, started near what the model allows. */
  const sweepCapacity = async (d: Deployment, g: DeploymentGroup) => {
    const pt = points.get(d)!;
    const sw = plan.sweep!;
    // One model cost, one SLO for both topologies: the lower of their replicas' own timings
    // (the same model timed 22.6 and 31.9 ms in one run here, and gave SLOs of 91 and 128 ms).
    const peers = [...points.values()].filter((p) => p.label === pt.label);
    pt.inferenceMs = Math.min(...peers.map((p) => p.served.usPerPrediction)) / 1000;
    pt.scenario = { ...g.scenario, slo: pointSlo(g.scenario, pt.inferenceMs) };
    const c = pointCapacity(sw.capacity, pt.inferenceMs, ctx.serverCores ?? 1);
    await guarded(() => warmDeployment(ctx, d, atRate(pt.scenario, c.startRps / 2, 2000, 0), 2000));
    pt.capacity = await searchCapacity(async (rate) => {
      const { probe, run } = await guarded(() => probeAt(ctx, d, pt.scenario, rate, c));
      run.sweepModel = pt.label;
      await record(run);
      return probe;
    }, c);
    o.progress.log(
      `  sweep ${pt.label} ${d.topology}: capacity ${pt.capacity.limitedBy === 'slo' ? '' : '≥ '}${pt.capacity.rateRps} req/s at p99 ≤ ${pt.scenario.slo.p99Ms} ms (inference ${pt.inferenceMs.toFixed(4)} ms)`,
    );
  };
  /** Both topologies at half the lower of their capacities: p50, p99, CPU and memory. */
  const sweepAtCommonRate = async (searched: Deployment, g: DeploymentGroup, deployments: Map<string, Deployment>) => {
    const pt = points.get(searched)!;
    const sw = plan.sweep!;
    const peers = [...points.entries()].filter(([x, p]) => p.label === pt.label && live.has(x)).map(([, p]) => p);
    const lowest = Math.min(...peers.map((p) => p.capacity?.rateRps ?? 0));
    const rate = lowest > 0 ? Math.max(1, Math.floor(lowest / 2)) : 0;
    let figures: ReturnType<typeof commonRateFigures> | undefined;
    let d = searched;
    if (rate > 0) {
      // Fresh processes: the search's overload probes leave heaps that Node keeps (a gateway
      // held 190 MB after them, against about 80 MB serving the same rate fresh), and this
      // run is what "memory to serve the same rate" is read from.
      await undeploy(searched);
      // The run's own 2 s warm-up at the common rate follows this one.
      d = await deploy(searched.topology, g, 2000);
      deployments.set(d.topology, d);
      points.set(d, { ...points.get(d)!, capacity: pt.capacity, inferenceMs: pt.inferenceMs, scenario: pt.scenario });
      points.delete(searched);
      // Long enough for a p99 at any rate (80 req/s for 5 s was 400 requests: invalid).
      const ms = Math.max(sw.commonMs, Math.ceil(((MIN_VALID_REQUESTS * 1.2) / rate) * 1000));
      const run = await guarded(() =>
        measureRun(ctx, d, atRate(pt.scenario, rate, ms, Math.min(g.scenario.warmupMs, 2000)), {
          phase: 'sweep',
          trial: 1,
        }),
      );
      run.sweepModel = pt.label;
      await record(run);
      figures = commonRateFigures(run);
    }
    results.sweep ??= { points: [], crossover: findCrossover([]), memoryAtEqualRate: null };
    results.sweep.points.push(
      sweepPointOf({
        label: pt.label,
        served: pt.served,
        topology: d.topology,
        inferenceMs: pt.inferenceMs!,
        sloP99Ms: pt.scenario.slo.p99Ms,
        capacity: pt.capacity!,
        serverCores: ctx.serverCores ?? 1,
        commonRateRps: rate,
        figures,
      }),
    );
    results.sweep.crossover = findCrossover(results.sweep.points);
    if (plan.sweep?.memoryModel)
      results.sweep.memoryAtEqualRate = memoryAtEqualRate(results.sweep.points, plan.sweep.memoryModel);
    await save();
  };

  try {
    for (const g of plan.groups) {
      // Keyed by topology, or implementation|topology when the run has several implementations.
      const deployments = new Map<string, Deployment>();
      const keyOf = (impl: string | undefined, t: Topology) => (impl ? `${impl}|${t}` : t);
      try {
        for (const impl of plan.implementations)
          for (const t of g.topologies)
            deployments.set(keyOf(impl, t), await deploy(t, g, plan.preset.deployWarmupMs, impl));
        if (g.model === null)
          o.progress.log(
            `deployed ${[...deployments.values()].map((d) => `${configLabel(d)}: ${d.components.length} ${plan.backend.units}`).join(', ')}`,
          );
        for (const step of g.steps)
          await execute(
            step,
            deployments.get(keyOf('implementation' in step ? step.implementation : undefined, step.topology))!,
            g,
            deployments,
          );
      } finally {
        for (const d of deployments.values()) if (live.has(d)) await undeploy(d);
        for (const d of deployments.values()) points.delete(d);
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
