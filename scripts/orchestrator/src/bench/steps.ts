import type { ProcessDeployment } from '../backends/process.js';
import type { SwarmDeployment } from '../backends/swarm/deploy.js';
import type { Deployment } from '../backends/types.js';
import { probeAt, searchCapacity } from '../measure/capacity.js';
import { measureFaultRun } from '../measure/fault-run.js';
import { measureNodeLossRun } from '../measure/node-loss-run.js';
import { measureRun, warmDeployment } from '../measure/run.js';
import type { CapacityResult } from '../results/index.js';
import { configLabel } from '../results/labels.js';
import { isNodeFault } from '../scenario/faults.js';
import type { DeploymentGroup, Step } from './program.js';
import type { BenchSession } from './session.js';
import type { SweepPoints } from './sweep-steps.js';

/** One step of a deployment group against its deployment: a trial, a fault run, a capacity search or a sweep step. */
export async function executeStep(
  s: BenchSession,
  sweep: SweepPoints,
  step: Step,
  d: Deployment,
  g: DeploymentGroup,
  deployments: Map<string, Deployment>,
): Promise<void> {
  switch (step.kind) {
    case 'trial':
      return s.record(await s.guarded(() => measureRun(s.ctx, d, g.scenario, { phase: 'trial', trial: step.trial })));
    case 'sweep':
      return sweep.searchCapacity(d, g);
    case 'sweep-rate':
      return sweep.atCommonRate(d, g, deployments);
    case 'fault':
      return s.record(
        await s.guarded(() =>
          isNodeFault(step.fault.kind)
            ? measureNodeLossRun(s.ctx, d as SwarmDeployment, g.scenario, step.fault, step.trial)
            : measureFaultRun(s.ctx, d as ProcessDeployment, g.scenario, step.fault, step.trial),
        ),
      );
    case 'capacity':
      return capacityStep(s, step.topology, d, g);
  }
}

/** The capacity search of one deployment at the scenario's SLO; every probe a recorded run. */
async function capacityStep(s: BenchSession, topology: Step['topology'], d: Deployment, g: DeploymentGroup) {
  const c = s.program.capacity!;
  // It sat idle while the other topology was measured: bring it back to steady state.
  await s.guarded(() => warmDeployment(s.ctx, d, g.scenario, s.program.preset.deployWarmupMs));
  const found = await searchCapacity(async (rate) => {
    const { probe, run } = await s.guarded(() => probeAt(s.ctx, d, g.scenario, rate, c));
    await s.record(run);
    return probe;
  }, c);
  s.results.capacity.push({
    topology,
    // The deployment's own count: an external one states it, whatever the program asked.
    replicas: d.replicas,
    gateways: d.gateways,
    ...(d.implementation && d.implementation !== 'mlbench' ? { implementation: d.implementation } : {}),
    ...found,
  } satisfies CapacityResult);
  await s.save();
  const bound =
    found.limitedBy === 'slo'
      ? `${found.rateRps} req/s`
      : `≥ ${found.rateRps} req/s (${found.limitedBy === 'load-generator' ? `load generator limit at ${found.loadGeneratorLimitRps} req/s` : 'search range'})`;
  s.o.progress.log(`  capacity ${configLabel(d)}: ${bound} at p99 ≤ ${g.scenario.slo.p99Ms} ms`);
}
