import type { Deployment, Topology } from '../backends/types.js';
import { writeReports } from '../report/write.js';
import { createRunDir, type ResultsFile, writeResults } from '../results/index.js';
import { configLabel } from '../results/labels.js';
import { summarize } from '../stats/summary.js';
import { BenchAborted, type RunOptions } from './options.js';
import type { BenchProgram, DeploymentGroup } from './program.js';
import { BenchSession } from './session.js';
import { newDriver, newResults, resolveModel } from './setup.js';
import { PrometheusSidecar } from './sidecar.js';
import { executeStep } from './steps.js';
import { SweepPoints } from './sweep-steps.js';

export { BenchAborted, type RunOptions };

/**
 * Execute a bench program: deploy each group, measure its steps in order (trials interleaved
 * A B A B …, then capacity searches), undeploy; results.json is rewritten (atomically) after
 * every run, so an interrupted bench leaves everything measured so far.
 */
export async function runBench(program: BenchProgram, o: RunOptions): Promise<{ dir: string; results: ResultsFile }> {
  const { pre, modelPath, model } = await resolveModel(program, o);
  const dir = await createRunDir(o.outDir, o.runId);
  const results = newResults(program, o, modelPath, model);
  await writeResults(dir, results);
  const sidecar = o.withPrometheus ? await PrometheusSidecar.start(dir, results, o.progress) : undefined;
  const driver = newDriver(program, o, dir);
  const s = new BenchSession(program, o, dir, results, driver, modelPath, pre, sidecar);
  const sweep = new SweepPoints(s);
  const onAbort = () => void driver.close();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (const g of program.groups) await runGroup(s, sweep, g);
    results.status = 'complete';
  } catch (err) {
    results.status = err instanceof BenchAborted || o.signal.aborted ? 'incomplete' : 'failed';
    results.statusReason = o.signal.aborted ? 'interrupted by signal' : (err as Error).message;
    throw err;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    o.progress.stop();
    await Promise.allSettled([driver.close(), ...[...s.live].map((d) => d.stop())]);
    await sidecar?.finish(results.runs, o.progress);
    results.finishedAt = new Date().toISOString();
    results.summary = summarize(results.runs, results.capacity);
    await writeResults(dir, results);
    await writeReports(dir, results).catch(() => undefined);
  }
  return { dir, results };
}

/** One deployment group: deploy every implementation × topology, run its steps, undeploy. */
async function runGroup(s: BenchSession, sweep: SweepPoints, g: DeploymentGroup): Promise<void> {
  // Keyed by topology, or implementation|topology when the run has several implementations.
  const deployments = new Map<string, Deployment>();
  const keyOf = (impl: string | undefined, t: Topology) => (impl ? `${impl}|${t}` : t);
  try {
    for (const impl of s.program.implementations)
      for (const t of g.topologies)
        deployments.set(keyOf(impl, t), await s.deploy(t, g, s.program.preset.deployWarmupMs, impl));
    if (g.model === null)
      s.o.progress.log(
        `deployed ${[...deployments.values()].map((d) => `${configLabel(d)}: ${d.components.length} ${s.program.backend.units}`).join(', ')}`,
      );
    for (const step of g.steps) {
      const d = deployments.get(keyOf('implementation' in step ? step.implementation : undefined, step.topology))!;
      await executeStep(s, sweep, step, d, g, deployments);
    }
  } finally {
    for (const d of deployments.values()) if (s.live.has(d)) await s.undeploy(d);
    for (const d of deployments.values()) sweep.forget(d);
  }
}
