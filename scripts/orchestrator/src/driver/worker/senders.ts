import { Balancer, failureName, HEALTH_CHECK, UpstreamPool, type UpstreamState } from '@mlbench/balancer';
import { Agent, type Pool } from 'undici';
import type { DriverRunSpec } from '../types.js';
import { post } from './http.js';

/** How one arrival ended: an answer (status, replica) or a failure without one (its name). */
export interface Outcome {
  status?: string;
  servedBy?: string;
  failure?: string;
}

/** Sends one arrival to the targets, retrying as its spreading policy allows. */
export interface Sender {
  send(body: Buffer): Promise<Outcome>;
  readonly retries: number;
  close(): Promise<void>;
}

/** Plain round robin over the targets: no health, no retries (the gateway balances behind it). */
function roundRobin(pools: Pool[], path: string, timeoutMs: number): Sender {
  let rr = 0;
  return {
    retries: 0,
    send: (body) =>
      post(pools[rr++ % pools.length]!, path, body, timeoutMs).then(
        (res) => ({ status: String(res.status), servedBy: res.servedBy }),
        (err) => ({ failure: failureName(err) }),
      ),
    close: async () => undefined,
  };
}

/**
 * The client-side load balancer in front of monolith replicas: the balancer library the
 * gateway uses over prediction replicas (health checks, ejection, the one retry decision
 * under a budget), so a replica failure costs both topologies the same protection.
 */
function clientBalancer(
  pools: Map<string, Pool>,
  path: string,
  timeoutMs: number,
  healthIntervalMs: number,
  healthPath?: string | null,
): Sender & { balancer: Balancer } {
  const healthAgent = new Agent({ connections: 2 });
  const pool = new UpstreamPool({
    dispatcher: healthAgent,
    healthIntervalMs,
    ...(healthPath !== undefined ? { healthPath } : {}),
    healthTimeoutMs: Math.min(HEALTH_CHECK.timeoutMs, healthIntervalMs),
  });
  pool.setOrigins([...pools.keys()]);
  pool.start();
  const balancer = new Balancer(pool);
  let retries = 0;
  const attempt = (body: Buffer, u: UpstreamState | undefined, retried: boolean): Promise<Outcome> => {
    if (!u) return Promise.resolve({ failure: 'NO_HEALTHY_TARGET' });
    return post(pools.get(u.origin)!, path, body, timeoutMs).then(
      (res) => {
        const retry = balancer.answered(u, res.status, res.shed, retried);
        if (retry) {
          retries++;
          return attempt(body, retry, true);
        }
        return { status: String(res.status), servedBy: res.servedBy };
      },
      (err) => {
        const { retry } = balancer.failed(u, err, retried);
        if (retry) {
          retries++;
          return attempt(body, retry, true);
        }
        return { failure: failureName(err) };
      },
    );
  };
  return {
    balancer,
    get retries() {
      return retries;
    },
    send: (body) => attempt(body, balancer.begin(), false),
    close: async () => {
      pool.stop();
      await healthAgent.close();
    },
  };
}

/** The sender a run's spec asks for, over pools that persist across runs (warm connections). */
export function senderFor(spec: DriverRunSpec, path: string, poolOf: (origin: string) => Pool): Sender {
  const origins = [...new Set(spec.targets.map((t) => new URL(t).origin))];
  const byOrigin = new Map(origins.map((o) => [o, poolOf(o)]));
  if (spec.balancer?.kind === 'client-lb') {
    // Like the gateway, the client-side balancer bounds each try, not only the whole request.
    const tryTimeout = Math.min(spec.timeoutMs, spec.balancer.perTryTimeoutMs);
    return clientBalancer(byOrigin, path, tryTimeout, spec.balancer.healthIntervalMs, spec.balancer.healthPath);
  }
  return roundRobin(
    spec.targets.map((t) => byOrigin.get(new URL(t).origin)!),
    path,
    spec.timeoutMs,
  );
}
