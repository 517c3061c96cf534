import {
  type Balancer,
  classifyUpstreamError,
  shedKind,
  type UpstreamFailure,
  type UpstreamPool,
  type UpstreamState,
} from '@mlbench/balancer';
import type { Counter } from 'prom-client';
import type { PendingPerReplica } from './pending.js';
import type { UpstreamOutcomes } from './upstream-metrics.js';

/** What the gateway keeps on each request while it is with a replica. */
export interface Exchange {
  upstream: UpstreamState | undefined;
  retried: boolean;
  /** The replica whose pending count this request holds (released when the replica is done with it). */
  occupies: string | undefined;
}

interface Replier {
  code(status: number): { send(payload: unknown): unknown };
  header(name: string, value: string): unknown;
}

export function sendError(reply: Replier, status: number, error: string, message: string, code: string) {
  return reply.code(status).send({ statusCode: status, error, message, code });
}

/** The reply for a failure no retry could save: 504 for a timeout, else 502. */
export function sendFailure(reply: Replier, failure: UpstreamFailure) {
  return sendError(
    reply,
    failure.status,
    failure.status === 504 ? 'Gateway Timeout' : 'Bad Gateway',
    failure.message,
    failure.code,
  );
}

/**
 * The gateway's side of one request's trips to the replicas, whichever forwarder carries
 * them: the replica chosen (round robin over usable replicas with room), its place in the
 * bounded queue, what its answer or failure tells the balancer, the outcome counted, and
 * the replica to retry on when the first did no work.
 */
export class Exchanges {
  constructor(
    private readonly pool: UpstreamPool,
    private readonly balancer: Balancer,
    private readonly pending: PendingPerReplica,
    private readonly outcomes: UpstreamOutcomes,
    private readonly retries: Counter,
  ) {}

  /** Pick a replica with room for the request, or answer 503 (then false). */
  choose(request: Exchange, reply: Replier): boolean {
    const picked = this.pickWithRoom();
    if (picked === undefined) {
      sendError(reply, 503, 'Service Unavailable', 'no healthy prediction replica', 'NO_HEALTHY_UPSTREAM');
      return false;
    }
    if (picked === 'full') {
      reply.header('retry-after', '1');
      sendError(
        reply,
        503,
        'Service Unavailable',
        `every prediction replica has ${this.pending.max} requests waiting`,
        'UPSTREAM_QUEUE_FULL',
      );
      return false;
    }
    request.upstream = picked;
    this.pending.occupy(request, picked.origin);
    return true;
  }

  /**
   * The replica answered (status and headers): count it and tell the balancer. A replica
   * that shed the request or is draining (503 + Retry-After) did no work: the returned
   * replica, if any, is where to send it again (a draining one is marked down too; see the
   * balancer's shed.ts).
   */
  answered(request: Exchange, status: number, headers: Record<string, unknown>): boolean {
    this.release(request);
    const u = request.upstream;
    if (!u) return false;
    this.outcomes.count(u.origin, status);
    const shed = shedKind(status, headers['retry-after'], headers.connection);
    return this.retryOn(request, this.balancer.answered(u, status, shed, request.retried));
  }

  /**
   * A try failed without an answer (or its answer broke off): classify it and count it. A
   * prediction is idempotent and a failed connection never reached the model, so the
   * balancer may send it to one other replica (timeouts are not retried): `retry` says so.
   */
  failed(request: Exchange, error: unknown): { failure: UpstreamFailure; retry: boolean } {
    this.release(request);
    const u = request.upstream;
    if (!u) return { failure: classifyUpstreamError(error), retry: false };
    const { failure, retry } = this.balancer.failed(u, error, request.retried);
    this.outcomes.count(u.origin, failure.code);
    return { failure, retry: this.retryOn(request, retry) };
  }

  /** The replica is done with the request (or it never got there): its place is given back, once. */
  release(request: Exchange): void {
    this.pending.release(request);
  }

  /** The balancer's choice, or the next replica with room when that one is full. */
  private pickWithRoom(): UpstreamState | 'full' | undefined {
    const first = this.balancer.begin();
    if (!first || this.pending.hasRoom(first.origin)) return first;
    for (let i = 1; i < this.pool.all.length; i++) {
      const next = this.pool.pick(first);
      if (next && this.pending.hasRoom(next.origin)) return next;
    }
    return 'full';
  }

  private retryOn(request: Exchange, other: UpstreamState | undefined): boolean {
    if (!other || !this.pending.hasRoom(other.origin)) return false;
    request.retried = true;
    request.upstream = other;
    this.pending.occupy(request, other.origin);
    this.retries.inc();
    return true;
  }
}
