/**
 * Requests sent to each replica and not yet answered. undici queues what finds every
 * connection busy, without bound or deadline (its timeouts start at the socket): past
 * `max` a replica takes no more until it answers, and when every replica is that full the
 * gateway sheds (503 + Retry-After) at once instead of queueing without bound.
 */
export class PendingPerReplica {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  hasRoom(origin: string): boolean {
    return (this.counts.get(origin) ?? 0) < this.max;
  }

  /** The request now waits on `origin` (and no longer on the replica it held before). */
  occupy(request: { occupies: string | undefined }, origin: string): void {
    this.release(request);
    this.counts.set(origin, (this.counts.get(origin) ?? 0) + 1);
    request.occupies = origin;
  }

  /** Answered, failed or abandoned: its place is given back (once). */
  release(request: { occupies: string | undefined }): void {
    const origin = request.occupies;
    if (origin === undefined) return;
    request.occupies = undefined;
    const n = (this.counts.get(origin) ?? 1) - 1;
    if (n > 0) this.counts.set(origin, n);
    else this.counts.delete(origin);
  }

  forget(origin: string): void {
    this.counts.delete(origin);
  }
}
