import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessDeployment } from '../backends/process.js';
import type { RunResult } from '../results/index.js';
import type { FaultOutcome, FaultSpec } from '../scenario/faults.js';
import type { Scenario } from '../scenario/scenario.js';
import { measureRun, type RunContext } from './run.js';

/** The replica a fault hits: one of the scaled tier (a monolith replica, or a prediction replica). */
export function faultTarget(dep: ProcessDeployment): string {
  return dep.topology === 'monolith' ? 'monolith-1' : 'prediction-1';
}

const AFTER_MS = 10_000;

/**
 * A measured run with a fault injected into one replica at spec.atMs, then the
 * resilience figures read off the per-second timeline and a latency window over the
 * fault. Afterwards the replica is running again, so trials stay independent.
 */
export async function measureFaultRun(
  ctx: RunContext,
  dep: ProcessDeployment,
  s: Scenario,
  fault: FaultSpec,
  trial: number,
): Promise<RunResult> {
  const target = faultTarget(dep);
  let injectedAt = 0;
  let restoredAt: number | null = null;
  const windowTo = fault.atMs + fault.durationMs + AFTER_MS;
  const inject = async () => {
    await sleep(fault.atMs);
    const proc = () => dep.processes.get(target)!;
    injectedAt = Date.now();
    if (fault.kind === 'kill') proc().signal('SIGKILL');
    else if (fault.kind === 'stop') proc().signal('SIGTERM');
    else if (fault.kind === 'pause') {
      proc().signal('SIGSTOP');
      await sleep(fault.durationMs);
      proc().signal('SIGCONT');
      restoredAt = Date.now();
    } else {
      proc().signal('SIGKILL');
      await sleep(fault.durationMs);
      await dep.restart(target);
      restoredAt = Date.now();
    }
  };
  const run = await measureRun(ctx, dep, s, {
    phase: 'fault',
    trial,
    windows: [{ name: 'fault', fromMs: fault.atMs, toMs: windowTo }],
    duringRun: inject,
  });
  // Leave the deployment whole for the next run.
  if (!dep.processes.get(target)?.running) {
    await dep.restart(target);
    await sleep(1500); // one health-check interval, so the balancer readmits it
  }
  run.fault = faultOutcome(run, fault, target, injectedAt, restoredAt);
  run.sloMet = false; // a fault run is judged by its resilience figures, not the steady-state SLO
  return run;
}

export function faultOutcome(
  run: RunResult,
  fault: FaultSpec,
  target: string,
  injectedAtEpoch: number,
  restoredAtEpoch: number | null,
): FaultOutcome {
  const injectedAtS = (injectedAtEpoch - run.driverStartEpochMs) / 1000;
  const restoredAtS = restoredAtEpoch === null ? null : (restoredAtEpoch - run.driverStartEpochMs) / 1000;
  const from = Math.max(0, Math.floor(injectedAtS));
  const errorsBySecond = run.timeline.map((b) => b.errors + b.dropped);
  const after = run.timeline.slice(from);
  const tenS = run.timeline.slice(from, from + 10);
  const lost = (bs: typeof after) => bs.reduce((n, b) => n + b.errors + b.dropped, 0);
  const offered = tenS.reduce((n, b) => n + b.sent + b.dropped, 0);
  let last = -1;
  for (let i = from; i < errorsBySecond.length; i++) if (errorsBySecond[i]! > 0) last = i;
  let restartedServesAfterS: number | null = null;
  if (fault.kind === 'restart' && restoredAtS !== null) {
    const first = run.timeline.findIndex((b, i) => i + 1 > restoredAtS && (b.servedBy[target] ?? 0) > 0);
    if (first >= 0) restartedServesAfterS = Math.max(0, Math.round((first - restoredAtS) * 1000) / 1000);
  }
  return {
    kind: fault.kind,
    spec: fault.text,
    target,
    injectedAtS: Math.round(injectedAtS * 1000) / 1000,
    restoredAtS: restoredAtS === null ? null : Math.round(restoredAtS * 1000) / 1000,
    requestsLost: lost(after),
    errorRate10s: offered ? Math.round((lost(tenS) / offered) * 1e6) / 1e6 : 0,
    timeToZeroErrorsS: last < 0 ? 0 : Math.round((last + 1 - injectedAtS) * 1000) / 1000,
    restartedServesAfterS,
    p99DuringFaultMs: run.windowLatencyMs.fault?.p99 ?? 0,
    errorsBySecond,
    clientRetries: run.clientRetries,
  };
}
