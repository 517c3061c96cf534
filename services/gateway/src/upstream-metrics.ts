import type { Counter } from 'prom-client';

type Child = ReturnType<Counter<'upstream' | 'outcome'>['labels']>;

/**
 * `gateway_upstream_requests_total{upstream,outcome}`, with the series of a replica removed
 * when discovery forgets it: under autoscaling and rolling updates every address ever seen
 * would otherwise stay a series for good. Each series' child is bound once: `inc(labels)`
 * hashed the labels object on every request.
 */
export class UpstreamOutcomes {
  private readonly seen = new Map<string, Map<string | number, Child>>();

  constructor(private readonly counter: Counter<'upstream' | 'outcome'>) {}

  /** One request's outcome: its status code, or the failure's code. */
  count(origin: string, outcome: string | number): void {
    let children = this.seen.get(origin);
    if (!children) {
      children = new Map();
      this.seen.set(origin, children);
    }
    let child = children.get(outcome);
    if (!child) {
      child = this.counter.labels({ upstream: origin, outcome: String(outcome) });
      children.set(outcome, child);
    }
    child.inc();
  }

  forget(origin: string): void {
    for (const outcome of this.seen.get(origin)?.keys() ?? [])
      this.counter.remove({ upstream: origin, outcome: String(outcome) });
    this.seen.delete(origin);
  }
}
