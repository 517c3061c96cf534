import type { Counter } from 'prom-client';

/**
 * `gateway_upstream_requests_total{upstream,outcome}`, with the series of a replica removed
 * when discovery forgets it: under autoscaling and rolling updates every address ever seen
 * would otherwise stay a series for good.
 */
export class UpstreamOutcomes {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly counter: Counter<'upstream' | 'outcome'>) {}

  count(origin: string, outcome: string): void {
    const outcomes = this.seen.get(origin) ?? new Set<string>();
    this.seen.set(origin, outcomes);
    outcomes.add(outcome);
    this.counter.inc({ upstream: origin, outcome });
  }

  forget(origin: string): void {
    for (const outcome of this.seen.get(origin) ?? []) this.counter.remove({ upstream: origin, outcome });
    this.seen.delete(origin);
  }
}
