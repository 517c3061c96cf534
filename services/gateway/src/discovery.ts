import { lookup } from 'node:dns/promises';
import type { UpstreamPool } from '@mlbench/balancer';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Keep the pool's replicas equal to the A/AAAA records of host:port, re-resolved on an
 * interval, so `docker compose --scale prediction=N` takes effect without a restart.
 */
export class DnsDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private readonly host: string;
  private readonly port: string;

  constructor(
    target: string,
    private readonly pool: UpstreamPool,
    private readonly refreshMs: number,
    private readonly log: FastifyBaseLogger,
  ) {
    const i = target.lastIndexOf(':');
    this.host = target.slice(0, i);
    this.port = target.slice(i + 1);
  }

  async resolve(): Promise<void> {
    try {
      const records = await lookup(this.host, { all: true });
      const origins = records
        .map((r) => (r.family === 6 ? `http://[${r.address}]:${this.port}` : `http://${r.address}:${this.port}`))
        .sort();
      this.pool.setOrigins(origins);
    } catch (err) {
      // Keep the last known replicas: a DNS hiccup must not empty a working pool.
      this.log.warn({ err, host: this.host }, 'DNS resolution of prediction replicas failed');
    }
  }

  async start(): Promise<void> {
    await this.resolve();
    this.timer = setInterval(() => void this.resolve(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
