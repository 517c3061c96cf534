/**
 * What a 503 says about the replica that sent it. Two kinds did no work and may be retried
 * elsewhere, and they call for opposite treatment:
 *
 * - `draining`: the replica is on its way out (a graceful stop, scale-down or rolling
 *   update). Fastify answers requests that still arrive on open connections with 503 and
 *   `Connection: close`, and our services add `Retry-After: 0`. It will take no more work:
 *   mark it down at once, until its /readyz says otherwise.
 * - `overload`: 503 + `Retry-After` on a connection kept open (load shedding). The replica is
 *   busy, not broken: it must not count toward ejection, which would take capacity away
 *   exactly when capacity is short.
 *
 * Counting draining as overload (never ejecting it) was measured to hurt: a stopping
 * replica kept its share of traffic until the next health check, the retry budget (20 %)
 * ran out, and clients saw bursts of 503 in the restart fault test. Counting overload as a
 * 5xx (the earlier rule) ejected shedding replicas.
 */
export type ShedKind = 'draining' | 'overload';

/**
 * A 503 without Retry-After is an ordinary 5xx (it may have done work): only a replica that
 * says "retry later" is retried, and only one that also closes the connection is draining.
 */
export function shedKind(status: number, retryAfter: unknown, connection: unknown): ShedKind | undefined {
  if (status !== 503 || retryAfter === undefined) return undefined;
  return typeof connection === 'string' && connection.toLowerCase() === 'close' ? 'draining' : 'overload';
}
