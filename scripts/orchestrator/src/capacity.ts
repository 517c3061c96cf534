import type { Deployment } from './backends/types.js';
import { MIN_VALID_REQUESTS, measureRun, type RunContext } from './measure/run.js';
import type { CapacityProbe, RunResult } from './results.js';
import { atRate, type Scenario } from './scenario.js';

export interface CapacitySearchOptions {
  startRps: number;
  minRps: number;
  maxRps: number;
  maxProbes: number;
  /** Stop when the pass/fail bracket is this tight (0.05 = within 5%). */
  tolerance: number;
  /** Re-probe a failing rate once before believing it (on a shared, noisy machine). */
  confirmFailures?: boolean;
}

/**
 * Highest arrival rate that passes `probe`: double from the start rate until a probe
 * fails (or halve until one passes), then bisect the bracket. Every probe is returned
 * so the report can show how the number was found.
 */
export async function searchCapacity(
  probe: (rateRps: number) => Promise<CapacityProbe>,
  opts: CapacitySearchOptions,
): Promise<{ rateRps: number; failedAtRps: number | null; probes: CapacityProbe[] }> {
  const probes: CapacityProbe[] = [];
  const tried = new Set<number>();
  let pass = 0;
  let fail: number | null = null;
  let rate = Math.round(Math.min(Math.max(opts.startRps, opts.minRps), opts.maxRps));
  while (probes.length < opts.maxProbes) {
    let p = await probe(rate);
    probes.push(p);
    // One noisy probe must not cap the search: a failure counts only if it repeats.
    if (!p.pass && opts.confirmFailures && probes.length < opts.maxProbes) {
      p = await probe(rate);
      probes.push(p);
    }
    tried.add(rate);
    if (p.pass) pass = Math.max(pass, rate);
    else fail = fail === null ? rate : Math.min(fail, rate);
    if (pass > 0 && fail !== null && fail / pass <= 1 + opts.tolerance) break;
    let next: number;
    if (fail === null) {
      if (rate >= opts.maxRps) break;
      next = Math.min(rate * 2, opts.maxRps);
    } else if (pass === 0) {
      if (rate <= opts.minRps) break;
      next = Math.max(rate / 2, opts.minRps);
    } else next = (pass + fail) / 2;
    next = Math.round(next);
    if (next === rate || tried.has(next)) break;
    rate = next;
  }
  return { rateRps: pass, failedAtRps: fail, probes };
}

/** One capacity probe: the scenario at a constant rate, judged by the scenario's SLO. */
export async function probeAt(
  ctx: RunContext,
  dep: Deployment,
  scenario: Scenario,
  rate: number,
  c: { probeMs: number; warmupMs: number },
): Promise<{ probe: CapacityProbe; run: RunResult }> {
  // A probe must hold enough requests to claim a p99, however low the rate.
  const probeMs = Math.max(c.probeMs, Math.ceil(((MIN_VALID_REQUESTS * 1.2) / rate) * 1000));
  const run = await measureRun(ctx, dep, atRate(scenario, rate, probeMs, c.warmupMs), { phase: 'capacity', trial: 1 });
  const reason = !run.valid
    ? run.invalidReasons.join('; ')
    : run.sloMet
      ? undefined
      : `p99 ${run.latencyMs.p99} ms, errors ${run.errors.count}, dropped ${run.dropped}, achieved ${run.achievedRps}`;
  return {
    run,
    probe: {
      rateRps: rate,
      achievedRps: run.achievedRps,
      p99Ms: run.latencyMs.p99,
      errorRate: run.errors.rate,
      dropped: run.dropped,
      pass: run.sloMet,
      ...(reason ? { reason } : {}),
    },
  };
}
