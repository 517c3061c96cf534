import type { Dispatcher } from 'undici';

export interface UpstreamState {
  origin: string;
  /** Result of the last active /readyz check (optimistic until the first one). */
  healthy: boolean;
  /** Set by a connection failure seen on live traffic; cleared by the next good check. */
  ejected: boolean;
  consecutiveFailures: number;
  requests: number;
  lastError?: string;
}

export interface UpstreamPoolOptions {
  dispatcher: Dispatcher;
  healthIntervalMs: number;
  healthTimeoutMs: number;
}

/**
 * The prediction replicas the gateway may use, with their health. Round robin over
 * the usable ones; a replica that refuses or resets a connection is ejected at once
 * and readmitted when its /readyz answers again, since undici's pools never eject.
 */
export class UpstreamPool {
  private upstreams: UpstreamState[] = [];
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly opts: UpstreamPoolOptions) {}

  setOrigins(origins: string[]): void {
    const known = new Map(this.upstreams.map((u) => [u.origin, u]));
    this.upstreams = [...new Set(origins)].map(
      (origin) => known.get(origin) ?? { origin, healthy: true, ejected: false, consecutiveFailures: 0, requests: 0 },
    );
  }

  get all(): readonly UpstreamState[] {
    return this.upstreams;
  }

  usableCount(): number {
    let n = 0;
    for (const u of this.upstreams) if (u.healthy && !u.ejected) n++;
    return n;
  }

  /** Next usable replica in round-robin order, or undefined when none is usable. */
  pick(): UpstreamState | undefined {
    const list = this.upstreams;
    for (let i = 0; i < list.length; i++) {
      const u = list[(this.cursor + i) % list.length]!;
      if (u.healthy && !u.ejected) {
        this.cursor = (this.cursor + i + 1) % list.length;
        u.requests++;
        return u;
      }
    }
    return undefined;
  }

  reportConnectionFailure(origin: string, error: string): void {
    const u = this.upstreams.find((x) => x.origin === origin);
    if (!u) return;
    u.consecutiveFailures++;
    u.ejected = true;
    u.lastError = error;
  }

  reportSuccess(u: UpstreamState): void {
    u.consecutiveFailures = 0;
  }

  async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(this.upstreams.map((u) => this.check(u)));
    } finally {
      this.checking = false;
    }
  }

  private async check(u: UpstreamState): Promise<void> {
    try {
      const res = await this.opts.dispatcher.request({
        origin: u.origin,
        path: '/readyz',
        method: 'GET',
        headersTimeout: this.opts.healthTimeoutMs,
        bodyTimeout: this.opts.healthTimeoutMs,
        signal: AbortSignal.timeout(this.opts.healthTimeoutMs),
      });
      await res.body.dump();
      u.healthy = res.statusCode === 200;
      if (u.healthy) {
        u.ejected = false;
        u.consecutiveFailures = 0;
      } else u.lastError = `readyz answered ${res.statusCode}`;
    } catch (err) {
      u.healthy = false;
      u.lastError = (err as Error).message;
    }
  }

  start(): void {
    if (this.timer) return;
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.opts.healthIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
