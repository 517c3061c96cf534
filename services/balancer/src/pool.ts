import type { Dispatcher } from 'undici';
import { isDefinitelyDown } from './errors.js';
import { DEFAULT_OUTLIER_POLICY, HEALTH_CHECK, type OutlierPolicy } from './policy.js';

/**
 * Replica selection with health, shared by the gateway (over prediction replicas) and
 * by mlbench's client-side balancer (over monolith replicas), so both topologies get
 * the same protection. undici's BalancedPool never ejects a dead upstream; this does.
 */

export interface UpstreamState {
  origin: string;
  /** Result of the last active /readyz check (optimistic until the first one). */
  healthy: boolean;
  /** Passive ejection: not used until this time (ms, performance.now()); 0 = not ejected. */
  ejectedUntil: number;
  /** How many times in a row it has been ejected: the back-off doubles each time. */
  ejections: number;
  consecutiveConnectFailures: number;
  consecutive5xx: number;
  /** Active checks in a row that timed out or broke (not a definite "not ready"). */
  consecutiveCheckFailures: number;
  requests: number;
  /** Slow start: after coming back it gets a growing share of traffic until this time. */
  warmingUntil: number;
  lastError?: string;
}

export interface UpstreamPoolOptions {
  dispatcher: Dispatcher;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  /** What the active checks GET (default /readyz); null: no active checks, passive ejection only. */
  healthPath?: string | null;
  /**
   * Checks in a row that must time out (or break mid-way) before a replica is marked down.
   * One late answer is weak evidence: a stall of the host or of the checker delays every
   * replica's probe at once, and marking them all down turns a 600 ms hiccup into a second
   * of 503s for everyone (measured: 728 of 3760 requests with a threshold of 1). A refused
   * connection or a non-200 /readyz is definite and counts at once; a replica that truly
   * hangs is out after this many checks (2 s with the defaults).
   */
  unhealthyThreshold?: number;
  outlier?: OutlierPolicy;
  /** Called with each replica the pool forgets (discovery dropped it): its metric series go too. */
  onForget?: (origin: string) => void;
  now?: () => number;
  random?: () => number;
}

export class UpstreamPool {
  private upstreams: UpstreamState[] = [];
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private readonly policy: OutlierPolicy;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: UpstreamPoolOptions) {
    this.policy = opts.outlier ?? DEFAULT_OUTLIER_POLICY;
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
  }

  setOrigins(origins: string[]): void {
    const known = new Map(this.upstreams.map((u) => [u.origin, u]));
    const kept = new Set(origins);
    for (const origin of known.keys()) if (!kept.has(origin)) this.opts.onForget?.(origin);
    this.upstreams = [...new Set(origins)].map(
      (origin) =>
        known.get(origin) ?? {
          origin,
          healthy: true,
          ejectedUntil: 0,
          ejections: 0,
          consecutiveConnectFailures: 0,
          consecutive5xx: 0,
          consecutiveCheckFailures: 0,
          requests: 0,
          warmingUntil: 0,
        },
    );
  }

  get all(): readonly UpstreamState[] {
    return this.upstreams;
  }

  isUsable(u: UpstreamState, now = this.now()): boolean {
    return u.healthy && u.ejectedUntil <= now;
  }

  usableCount(except?: UpstreamState): number {
    const now = this.now();
    let n = 0;
    for (const u of this.upstreams) if (u !== except && this.isUsable(u, now)) n++;
    return n;
  }

  /** Next usable replica in round-robin order (optionally not `avoid`), or undefined. */
  pick(avoid?: UpstreamState): UpstreamState | undefined {
    const list = this.upstreams;
    const now = this.now();
    let warming: number | undefined;
    for (let i = 0; i < list.length; i++) {
      const at = (this.cursor + i) % list.length;
      const u = list[at]!;
      if (u === avoid || !this.isUsable(u, now)) continue;
      if (this.admit(u, now)) return this.take(at);
      warming ??= at;
    }
    // Slow start shares traffic out among replicas; it never refuses a request that only a
    // warming replica can take. It did: with the other replica ejected, nine picks in ten
    // came back empty and clients got 503 NO_HEALTHY_UPSTREAM (532 in a test that froze both
    // replicas for 700 ms) while a usable replica sat idle.
    return warming === undefined ? undefined : this.take(warming);
  }

  private take(at: number): UpstreamState {
    const u = this.upstreams[at]!;
    this.cursor = (at + 1) % this.upstreams.length;
    u.requests++;
    return u;
  }

  /** Slow start: a returning replica takes a share of the picks that grows from 10% to 100%. */
  private admit(u: UpstreamState, now: number): boolean {
    if (u.warmingUntil <= now) return true;
    const share = Math.max(0.1, 1 - (u.warmingUntil - now) / this.policy.slowStartMs);
    return this.random() < share;
  }

  find(origin: string): UpstreamState | undefined {
    return this.upstreams.find((x) => x.origin === origin);
  }

  reportConnectFailure(u: UpstreamState, error: string): void {
    u.consecutiveConnectFailures++;
    u.lastError = error;
    if (u.consecutiveConnectFailures >= this.policy.consecutiveConnectFailures) this.eject(u);
  }

  /**
   * A replica that shed the request for overload (503 + Retry-After) did no work and is not
   * broken: it neither extends a 5xx streak (ejecting it would take capacity away exactly when
   * capacity is short) nor clears one.
   */
  reportShed(u: UpstreamState): void {
    u.consecutiveConnectFailures = 0;
  }

  /**
   * A replica draining on its way out takes no more work: it is down from now until an
   * active check finds it ready (a restarted process on the same address; slow start then).
   */
  reportDraining(u: UpstreamState): void {
    u.consecutiveConnectFailures = 0;
    u.healthy = false;
    u.lastError = 'draining';
  }

  reportStatus(u: UpstreamState, status: number): void {
    u.consecutiveConnectFailures = 0;
    if (status >= 500) {
      u.consecutive5xx++;
      u.lastError = `answered ${status}`;
      if (u.consecutive5xx >= this.policy.consecutive5xx) this.eject(u);
    } else {
      u.consecutive5xx = 0;
      u.ejections = 0;
    }
  }

  /** Eject for a doubling back-off, but never the last usable replica (a fast 503 for everyone helps no one). */
  private eject(u: UpstreamState): void {
    const now = this.now();
    if (u.ejectedUntil > now) return;
    if (this.usableCount(u) === 0) return;
    const ms = Math.min(this.policy.baseEjectionMs * 2 ** u.ejections, this.policy.maxEjectionMs);
    u.ejectedUntil = now + ms;
    u.warmingUntil = u.ejectedUntil + this.policy.slowStartMs;
    u.ejections++;
    u.consecutiveConnectFailures = 0;
    u.consecutive5xx = 0;
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
        path: this.opts.healthPath ?? '/readyz',
        method: 'GET',
        headersTimeout: this.opts.healthTimeoutMs,
        bodyTimeout: this.opts.healthTimeoutMs,
        signal: AbortSignal.timeout(this.opts.healthTimeoutMs),
      });
      await res.body.dump();
      const wasHealthy = u.healthy;
      u.healthy = res.statusCode === 200;
      u.consecutiveCheckFailures = 0;
      const now = this.now();
      if (u.healthy && !wasHealthy) {
        // Back from down (a restarted process): slow start, and its old failures are forgotten.
        u.warmingUntil = now + this.policy.slowStartMs;
        u.ejections = 0;
      }
      // Healthy and not ejected again for a while: forget past ejections too.
      if (u.healthy && u.ejections > 0 && now > u.ejectedUntil + 5 * this.policy.baseEjectionMs) u.ejections = 0;
      if (!u.healthy) u.lastError = `readyz answered ${res.statusCode}`;
    } catch (err) {
      u.lastError = (err as Error).message;
      u.consecutiveCheckFailures++;
      const definite = isDefinitelyDown(err);
      if (definite || u.consecutiveCheckFailures >= (this.opts.unhealthyThreshold ?? HEALTH_CHECK.unhealthyThreshold))
        u.healthy = false;
    }
  }

  start(): void {
    if (this.timer || this.opts.healthPath === null) return;
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.opts.healthIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
