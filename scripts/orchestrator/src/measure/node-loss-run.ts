import { setTimeout as sleep } from 'node:timers/promises';
import type { SwarmDeployment } from '../backends/swarm/deploy.js';
import type { RunResult } from '../results/index.js';
import type { FaultSpec } from '../scenario/faults.js';
import type { Scenario } from '../scenario/scenario.js';
import { faultOutcome } from './fault-run.js';
import { measureRun, type RunContext } from './run.js';

const AFTER_MS = 10_000;

/**
 * A measured run that loses a whole swarm node at spec.atMs (its engine stopped, as
 * `systemctl stop docker` would, through the nodes file's stop command), like `kill@` on one
 * machine: the errors clients saw, and how long the swarm took to run the tier's replica count
 * again on the other nodes. Afterwards the node is started again and rejoins, so trials stay
 * independent (Swarm does not move tasks back: the tier stays where it was rescheduled).
 */
export async function measureNodeLossRun(
  ctx: RunContext,
  dep: SwarmDeployment,
  s: Scenario,
  fault: FaultSpec,
  trial: number,
): Promise<RunResult> {
  const node = await dep.nodeLoss.pick();
  let injectedAt = 0;
  let rescheduledAt: number | null = null;
  let failure: Error | undefined;
  const inject = async () => {
    await sleep(fault.atMs);
    injectedAt = Date.now();
    await dep.nodeLoss.stop(node);
    // The swarm notices the node gone (missed heartbeats), reschedules its tasks, and they pass
    // their health checks: the run goes on meanwhile, so clients see what that costs.
    await dep.nodeLoss.waitRescheduled().then(
      () => {
        rescheduledAt = Date.now();
      },
      (err: Error) => {
        failure = err;
      },
    );
  };
  const run = await measureRun(ctx, dep, s, {
    phase: 'fault',
    trial,
    windows: [{ name: 'fault', fromMs: fault.atMs, toMs: fault.atMs + AFTER_MS }],
    duringRun: inject,
  });
  await dep.nodeLoss.restore(node);
  if (failure) throw new Error(`node-stop ${node}: the swarm did not make up for it: ${failure.message}`);
  const outcome = faultOutcome(run, fault, node, injectedAt, null);
  outcome.rescheduledAfterS = rescheduledAt === null ? null : Math.round((rescheduledAt - injectedAt) / 10) / 100;
  run.fault = outcome;
  run.sloMet = false; // judged by its resilience figures, as every fault run
  return run;
}
