import { RetryBudget } from './budget.js';
import { classifyUpstreamError, type UpstreamFailure } from './errors.js';
import type { UpstreamPool, UpstreamState } from './pool.js';
import type { ShedKind } from './shed.js';

/**
 * The one retry decision, shared by the gateway (over prediction replicas) and mlbench's
 * client-side balancer (over monolith replicas). A request is tried at most twice: again
 * only when the first try did no work — a refused or broken connection, or a replica that
 * shed it or is draining (503 + Retry-After; see shed.ts) — on another usable replica, within the retry budget.
 * Timeouts are never retried: the replica may still be computing, and a retry would double
 * the load on a tier that is already slow. It looks for another replica before it spends
 * the budget, so a lone replica's failures never use up the retries others may need.
 */
export class Balancer {
  constructor(
    readonly pool: UpstreamPool,
    readonly budget: RetryBudget = new RetryBudget(),
  ) {}

  /** A new client request: it counts toward the budget's base and gets its first replica. */
  begin(): UpstreamState | undefined {
    this.budget.recordRequest();
    return this.pool.pick();
  }

  /** A replica answered: record it, and return the replica to retry on, if any. */
  answered(u: UpstreamState, status: number, shed: ShedKind | undefined, retried: boolean): UpstreamState | undefined {
    if (shed) {
      if (shed === 'draining') this.pool.reportDraining(u);
      else this.pool.reportShed(u);
      return this.retryFrom(u, retried);
    }
    this.pool.reportStatus(u, status);
    return undefined;
  }

  /** A try failed without an answer: classify it, record it, and decide on a retry. */
  failed(u: UpstreamState, err: unknown, retried: boolean): { failure: UpstreamFailure; retry?: UpstreamState } {
    const failure = classifyUpstreamError(err);
    if (!failure.connectionFailure) return { failure };
    this.pool.reportConnectFailure(u, failure.code);
    const retry = this.retryFrom(u, retried);
    return retry ? { failure, retry } : { failure };
  }

  private retryFrom(u: UpstreamState, retried: boolean): UpstreamState | undefined {
    if (retried || this.pool.usableCount(u) === 0 || !this.budget.tryAcquire()) return undefined;
    return this.pool.pick(u);
  }
}
