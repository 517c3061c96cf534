import type { CapacityProbe } from './results.js';

export interface CapacitySearchOptions {
  startRps: number;
  minRps: number;
  maxRps: number;
  maxProbes: number;
  /** Stop when the pass/fail bracket is this tight (0.05 = within 5%). */
  tolerance: number;
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
  let pass = 0;
  let fail: number | null = null;
  let rate = Math.round(Math.min(Math.max(opts.startRps, opts.minRps), opts.maxRps));
  while (probes.length < opts.maxProbes) {
    const p = await probe(rate);
    probes.push(p);
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
    if (next === rate || probes.some((q) => q.rateRps === next)) break;
    rate = next;
  }
  return { rateRps: pass, failedAtRps: fail, probes };
}
