import type { Deployment } from '../backends/types.js';
import type { CapacityProbe, RunResult } from '../results/index.js';
import { atRate, type Scenario } from '../scenario/scenario.js';
import { MIN_VALID_REQUESTS, measureRun, type RunContext } from './run.js';

export interface CapacitySearchOptions {
  startRps: number;
  minRps: number;
  maxRps: number;
  maxProbes: number;
  /** Stop when the pass/fail bracket is this tight (0.05 = within 5%). */
  tolerance: number;
  /**
   * Re-probe a failing rate once before believing it (on a shared, noisy machine): every
   * failure (true), or only one where the server kept up ('tail-only': the rate held and
   * nothing was dropped, p99 alone over the SLO), the kind a stall makes; a search on a small
   * probe budget spends no second probe on a plain overload.
   */
  confirmFailures?: boolean | 'tail-only';
}

/** What one probe says of the server: it met the SLO, it did not, or the load generator could not tell. */
export type ProbeVerdict = 'pass' | 'fail' | 'load-generator';

export const verdictOf = (p: CapacityProbe): ProbeVerdict => p.verdict ?? (p.pass ? 'pass' : 'fail');

/** How a rate was judged from its probes. */
export interface RateDecision {
  rateRps: number;
  verdict: ProbeVerdict;
  /** "every probe passed", "2 of 3 probes passed", "failed twice", … */
  rule: string;
}

export interface CapacityFound {
  /** Highest rate judged to pass (0 if none did). */
  rateRps: number;
  /** Lowest rate judged to fail on the server's account, bounding the true capacity from above. */
  failedAtRps: number | null;
  /**
   * What ended the search: a rate the server failed ("slo"), a rate at which the load
   * generator could not hold its schedule ("load-generator": the capacity is at least
   * rateRps), or neither ("search-range": maxRps or the probe budget was reached first).
   */
  limitedBy: 'slo' | 'load-generator' | 'search-range';
  /** Lowest rate the load generator could not hold, if any. */
  loadGeneratorLimitRps: number | null;
  decisions: RateDecision[];
  probes: CapacityProbe[];
}

/**
 * Highest arrival rate that passes `probe`: double from the start rate until a rate does
 * not pass (or halve until one passes), then bisect the bracket. A rate passes only if every
 * probe at it passes; with `confirmFailures`, a failing rate is probed again, and when the
 * two disagree a third decides (it passes on 2 of 3, and the decision says so). A probe
 * the load generator could not hold neither passes nor fails the server: the search goes
 * no higher, and the result is then a lower bound ("load-generator"). Every probe and every
 * decision is returned so the report can show how the number was found.
 */
export async function searchCapacity(
  probe: (rateRps: number) => Promise<CapacityProbe>,
  opts: CapacitySearchOptions,
): Promise<CapacityFound> {
  const probes: CapacityProbe[] = [];
  const decisions: RateDecision[] = [];
  const tried = new Set<number>();
  let pass = 0;
  let failed: number | null = null;
  let lgLimit: number | null = null;
  const budgetLeft = () => probes.length < opts.maxProbes;
  const once = async (rate: number) => {
    const p = await probe(rate);
    probes.push(p);
    return verdictOf(p);
  };
  // The server kept up: the whole rate arrived and nothing was dropped (what a stall leaves).
  const tailOnly = (p: CapacityProbe) => p.dropped === 0 && p.achievedRps >= 0.97 * p.rateRps;
  const confirm = (first: ProbeVerdict, p: CapacityProbe) =>
    opts.confirmFailures === true ||
    (opts.confirmFailures === 'tail-only' && (first === 'load-generator' || tailOnly(p)));
  const judge = async (rate: number): Promise<RateDecision> => {
    const first = await once(rate);
    const firstProbe = probes[probes.length - 1]!;
    if (first === 'pass') return { rateRps: rate, verdict: first, rule: 'every probe passed' };
    const cannot = 'load generator could not hold the rate';
    // One noisy probe must not cap the search; one lucky probe must not pass a failing rate.
    // That goes for a load generator that fell behind once too: a stall of its own (measured:
    // one at 2,000 req/s, p99 26 ms at the client and 0.3 ms in the server) ended a search at
    // 1,938 whose generator held 17,000 in the next.
    if (!confirm(first, firstProbe) || !budgetLeft())
      return { rateRps: rate, verdict: first, rule: first === 'fail' ? 'failed' : cannot };
    const second = await once(rate);
    if (first === 'fail' && second === 'load-generator') return { rateRps: rate, verdict: second, rule: cannot };
    if (second !== 'pass') {
      const verdict = first === 'load-generator' && second === 'load-generator' ? 'load-generator' : 'fail';
      return {
        rateRps: rate,
        verdict,
        rule:
          verdict === 'load-generator'
            ? `${cannot}, twice`
            : first === 'fail'
              ? 'failed twice'
              : 'failed once the load generator kept up',
      };
    }
    if (!budgetLeft())
      return {
        rateRps: rate,
        verdict: first,
        rule: first === 'fail' ? 'failed 1 of 2 (no budget for a third)' : `${cannot} 1 of 2 (no budget for a third)`,
      };
    const third = await once(rate);
    if (third === 'pass') return { rateRps: rate, verdict: 'pass', rule: '2 of 3 probes passed (majority)' };
    if (third === 'load-generator') return { rateRps: rate, verdict: third, rule: `${cannot} (1 of 3 passed)` };
    return {
      rateRps: rate,
      verdict: 'fail',
      rule:
        first === 'fail' ? '2 of 3 probes failed (majority)' : '1 of 3 passed (failed once the load generator kept up)',
    };
  };
  let rate = Math.round(Math.min(Math.max(opts.startRps, opts.minRps), opts.maxRps));
  while (budgetLeft()) {
    const d = await judge(rate);
    decisions.push(d);
    tried.add(rate);
    if (d.verdict === 'pass') pass = Math.max(pass, rate);
    else if (d.verdict === 'fail') failed = failed === null ? rate : Math.min(failed, rate);
    else lgLimit = lgLimit === null ? rate : Math.min(lgLimit, rate);
    // The bracket's top: the lowest rate that did not pass, for either reason.
    const ceiling = failed === null ? lgLimit : lgLimit === null ? failed : Math.min(failed, lgLimit);
    if (pass > 0 && ceiling !== null && ceiling / pass <= 1 + opts.tolerance) break;
    let next: number;
    if (ceiling === null) {
      if (rate >= opts.maxRps) break;
      next = Math.min(rate * 2, opts.maxRps);
    } else if (pass === 0) {
      if (rate <= opts.minRps) break;
      next = Math.max(rate / 2, opts.minRps);
    } else next = (pass + ceiling) / 2;
    next = Math.round(next);
    if (next === rate || tried.has(next)) break;
    rate = next;
  }
  const lowestNotPassing = [failed, lgLimit].filter((x): x is number => x !== null).sort((a, b) => a - b)[0];
  const limitedBy =
    lowestNotPassing === undefined ? 'search-range' : lowestNotPassing === failed ? 'slo' : 'load-generator';
  return { rateRps: pass, failedAtRps: failed, limitedBy, loadGeneratorLimitRps: lgLimit, decisions, probes };
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
  // Lateness only adds to what the server is charged (latency counts from the scheduled
  // send): a probe that met the SLO anyway passes. One that missed it while the load
  // generator was late judges the generator, not the server.
  // Which one missed it: a driver that names its own lateness (k6, or latency the server does
  // not account for) is the cause; a driver merely behind its schedule is only if the time
  // from the actual send (what the server and the wire cost) met the SLO and errors did too.
  const generatorsFault =
    run.driverLate &&
    (run.driverLateReason !== undefined ||
      (run.serviceTimeMs.p99 <= scenario.slo.p99Ms && run.errors.rate <= scenario.slo.errorRate));
  const verdict: ProbeVerdict = run.sloMet ? 'pass' : generatorsFault ? 'load-generator' : 'fail';
  const reason =
    verdict === 'load-generator'
      ? `load generator behind: ${run.driverLateReason ?? `schedule lag p99 ${run.scheduleLagMs.p99} ms`} (p99 ${run.latencyMs.p99} ms, failed ${run.failed.count}, achieved ${run.achievedRps}${run.valid ? '' : `; ${run.invalidReasons.join('; ')}`})`
      : !run.valid
        ? run.invalidReasons.join('; ')
        : run.sloMet
          ? undefined
          : `p99 ${run.latencyMs.p99} ms, failed ${run.failed.count} (errors ${run.errors.count} + dropped ${run.dropped}), achieved ${run.achievedRps}`;
  return {
    run,
    probe: {
      rateRps: rate,
      achievedRps: run.achievedRps,
      p99Ms: run.latencyMs.p99,
      errorRate: run.failed.rate,
      dropped: run.dropped,
      pass: verdict === 'pass',
      verdict,
      ...(reason ? { reason } : {}),
    },
  };
}
