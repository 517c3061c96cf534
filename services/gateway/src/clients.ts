import { type Dispatcher, Pool } from 'undici';

/**
 * One undici Pool per prediction replica, made on first use and closed when discovery
 * forgets the replica. It is what both forwarders send through: the lean one dispatches to
 * `pool(origin)` itself, and reply-from takes it as its dispatcher (any object with `request`).
 * An Agent in its place looked the origin up through two more dispatch layers per request
 * (make perf's profile: 1–2 µs a request).
 */
export class UpstreamClients {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly options: Pool.Options) {}

  pool(origin: string): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, this.options);
      this.pools.set(origin, p);
    }
    return p;
  }

  /** reply-from's dispatcher interface: the request goes to the pool of its origin. */
  request(
    opts: Dispatcher.RequestOptions & { origin: string },
    callback: (err: Error | null, data: Dispatcher.ResponseData) => void,
  ): void {
    this.pool(String(opts.origin)).request(opts, callback);
  }

  /** The replica is gone: requests in flight finish, then its connections close. */
  forget(origin: string): void {
    const p = this.pools.get(origin);
    this.pools.delete(origin);
    p?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.close()));
  }
}
