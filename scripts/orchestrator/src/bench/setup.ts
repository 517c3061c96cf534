import { join } from 'node:path';
import { DEFAULT_MODEL_PATH, loadModel } from '@mlbench/model';
import { Preprocessor, parsePreprocessSpec } from '@mlbench/preprocess';
import { nginxVersion } from '../backends/nginx.js';
import { K6Driver } from '../driver/k6.js';
import { DriverPool } from '../driver/pool.js';
import type { LoadDriver } from '../driver/types.js';
import { DriverProcess } from '../driver/worker-process.js';
import { type ResultsFile, type RunResult, SCHEMA_VERSION } from '../results/index.js';
import { configLabel } from '../results/labels.js';
import { describeMachine, parseCpuList } from '../sys/machine.js';
import type { RunOptions } from './options.js';
import type { BenchProgram } from './program.js';
import { sweepModelPath } from './sweep.js';

type Model = Awaited<ReturnType<typeof loadModel>>;

/**
 * The model the run serves, and the API tier's preprocessing if any: with an API tier that
 * expands inputs, the model takes what it makes, not what clients send. A mismatch between
 * scenario, preprocessing and model is an error before anything is deployed.
 */
export async function resolveModel(
  program: BenchProgram,
  o: RunOptions,
): Promise<{ pre: Preprocessor | undefined; modelPath: string; model: Model }> {
  const pre = o.preprocess ? new Preprocessor(parsePreprocessSpec(o.preprocess)) : undefined;
  if (pre && pre.rawFeatures !== program.scenario.payload.features)
    throw new Error(
      `--preprocess takes ${pre.rawFeatures} raw features but scenario ${program.scenario.name} sends ${program.scenario.payload.features}`,
    );
  const modelInputs = pre?.outputFeatures ?? program.scenario.payload.features;
  const modelPath =
    o.modelPath ??
    (pre
      ? await sweepModelPath({ family: 'linear', features: modelInputs }, (l) => o.progress.log(l))
      : DEFAULT_MODEL_PATH);
  const model = await loadModel(modelPath);
  if (model.featureCount !== modelInputs)
    throw new Error(
      pre
        ? `--preprocess makes ${modelInputs} features but the model ${modelPath} takes ${model.featureCount}`
        : `scenario ${program.scenario.name} sends ${program.scenario.payload.features} features but the model ${modelPath} takes ${model.featureCount}`,
    );
  return { pre, modelPath, model };
}

/** results.json as it starts: the machine, the whole configuration, nothing measured yet. */
export function newResults(program: BenchProgram, o: RunOptions, modelPath: string, model: Model): ResultsFile {
  return {
    schemaVersion: SCHEMA_VERSION,
    runId: o.runId,
    status: 'running',
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    config: {
      plan: program.preset.name,
      backend: program.backend.name,
      implementation: program.backend.implementation ?? 'mlbench',
      driver: program.driver,
      topologies: program.topologies,
      replicas: program.replicas,
      gateways: program.gateways,
      trials: program.trials,
      interleaving: 'topologies alternate within each trial (A B A B …), one deployment per topology and replica count',
      scenario: program.scenario,
      slo: program.scenario.slo,
      capacitySearch: program.capacity,
      fault: program.fault,
      sweep: program.sweep,
      pinning: o.pinning,
      ...(program.driver === 'builtin' ? { driverWorkers: o.driverWorkers ?? 1 } : {}),
      minDurationMs: o.minDurationMs,
      model: { path: modelPath, name: model.name, version: model.version, features: model.featureCount },
      ...(o.preprocess ? { preprocess: o.preprocess } : {}),
      ...(o.gateway === 'nginx' ? { gateway: o.gateway, gatewayVersion: nginxVersion() } : {}),
    },
    runs: [],
    capacity: [],
    summary: [],
  };
}

/** The load generator the program names, on the driver's CPUs. */
export function newDriver(program: BenchProgram, o: RunOptions, dir: string): LoadDriver {
  if (program.driver === 'k6')
    return new K6Driver({ workDir: join(dir, 'k6'), runId: o.runId, cpus: o.pinning.driverCpus });
  if ((o.driverWorkers ?? 1) > 1)
    return new DriverPool({
      workers: o.driverWorkers!,
      cpus: o.pinning.driverCpus ? parseCpuList(o.pinning.driverCpus).map(String) : undefined,
      runId: o.runId,
    });
  return new DriverProcess({ cpus: o.pinning.driverCpus, runId: o.runId });
}

/** The progress log's line for one measured run. */
export function runLine(r: RunResult): string {
  const flag = r.fault
    ? `${r.fault.spec} on ${r.fault.target}: lost ${r.fault.requestsLost}, errors back to zero after ${r.fault.timeToZeroErrorsS} s, p99 during fault ${r.fault.p99DuringFaultMs} ms`
    : r.valid
      ? r.sloMet
        ? 'SLO met'
        : 'SLO missed'
      : `INVALID: ${r.invalidReasons.join('; ')}`;
  return (
    `  ${r.phase} ${configLabel(r)}${r.sweepModel ? ` ${r.sweepModel}` : ` trial ${r.trial}`}: ` +
    `${r.achievedRps}/${r.targetRps} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
    `errors ${r.errors.count}, dropped ${r.dropped} — ${flag}${r.driverLate ? ` (driver behind schedule: lag p99 ${r.scheduleLagMs.p99} ms)` : ''}`
  );
}
