import type { Preprocessor } from '@mlbench/preprocess';
import type { Deployment, Topology } from '../backends/types.js';
import type { LoadDriver } from '../driver/types.js';
import { type RunContext, warmDeployment } from '../measure/run.js';
import { type ResultsFile, type RunResult, writeResults } from '../results/index.js';
import { summarize } from '../stats/summary.js';
import { allowedCpus, parseCpuList } from '../sys/machine.js';
import { BenchAborted, type RunOptions } from './options.js';
import type { BenchProgram, DeploymentGroup } from './program.js';
import { runLine } from './setup.js';
import type { PrometheusSidecar } from './sidecar.js';
import { sweepModelPath } from './sweep.js';

/**
 * What every step of a bench shares: the results being written (rewritten atomically after
 * every run, so an interrupted bench keeps what it measured), the driver and the context runs
 * are measured in, the deployments alive, and the abort signal.
 */
export class BenchSession {
  readonly ctx: RunContext;
  readonly live = new Set<Deployment>();
  /** Asked what to warm a deployment with before its first run (a sweep point's own load). */
  warmLoadFor?: (d: Deployment, g: DeploymentGroup, warmMs: number) => Promise<DeploymentGroup['scenario']>;

  constructor(
    readonly program: BenchProgram,
    readonly o: RunOptions,
    readonly dir: string,
    readonly results: ResultsFile,
    readonly driver: LoadDriver,
    readonly modelPath: string,
    readonly pre: Preprocessor | undefined,
    readonly sidecar: PrometheusSidecar | undefined,
  ) {
    this.ctx = {
      driver,
      driverName: program.driver,
      minDurationMs: o.minDurationMs,
      serverCores: o.pinning.serverCpus ? parseCpuList(o.pinning.serverCpus).length : allowedCpus().length,
      onProgress: (p) => {
        o.progress.update(p);
        sidecar?.observe(p);
      },
    };
  }

  checkAbort(): void {
    if (this.o.signal.aborted) throw new BenchAborted('interrupted');
  }

  async save(): Promise<void> {
    this.results.summary = summarize(this.results.runs, this.results.capacity);
    await writeResults(this.dir, this.results);
  }

  async record(r: RunResult): Promise<void> {
    this.results.runs.push(r);
    await this.save();
    this.o.progress.log(runLine(r));
  }

  /** Every measured run: a fresh progress line, and an abort (not a crash) if interrupted. */
  async guarded<T>(work: () => Promise<T>): Promise<T> {
    this.checkAbort();
    this.o.progress.nextRun();
    try {
      return await work();
    } catch (err) {
      this.checkAbort();
      throw err;
    }
  }

  /** Deploy and warm with the load it is about to get (the payload must match its model). */
  async deploy(
    t: Topology,
    g: DeploymentGroup,
    warmMs = this.program.preset.deployWarmupMs,
    implementation?: string,
  ): Promise<Deployment> {
    this.checkAbort();
    const path =
      g.model === null
        ? this.modelPath
        : await sweepModelPath(g.model, (l) => this.o.progress.log(l), this.pre?.outputFeatures);
    const d = await this.program.backend.deploy(t, g.replicas, {
      extraEnv: this.o.preprocess ? { PREPROCESS: this.o.preprocess } : undefined,
      modelPath: path,
      runId: this.o.runId,
      serverCpus: this.o.pinning.serverCpus,
      gateways: t === 'microservices' ? g.gateways : undefined,
      gateway: this.o.gateway,
      implementation,
    });
    this.live.add(d);
    await this.sidecar?.deployed(d);
    const warmWith = g.model && this.warmLoadFor ? await this.warmLoadFor(d, g, warmMs) : g.scenario;
    await warmDeployment(this.ctx, d, warmWith, warmMs);
    return d;
  }

  async undeploy(d: Deployment): Promise<void> {
    this.live.delete(d);
    await this.sidecar?.undeployed(d);
    await d.stop();
  }
}
