import { DEFAULT_OUTLIER_POLICY, HEALTH_CHECK, RETRY_BUDGET, UPSTREAM_TIMEOUTS } from '@mlbench/balancer';
import { baseConfigProperties, ConfigError, loadConfig } from '@mlbench/runtime';
import { type Static, Type } from '@sinclair/typebox';

export const GatewayConfigSchema = Type.Object({
  ...baseConfigProperties,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  PREDICTION_URLS: Type.Optional(Type.String({ minLength: 1 })),
  PREDICTION_DNS: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.\\-_]+:[0-9]{1,5}$' })),
  DNS_REFRESH_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 2_000 }),
  HEALTH_INTERVAL_MS: Type.Integer({ minimum: 50, maximum: 600_000, default: HEALTH_CHECK.intervalMs }),
  HEALTH_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: HEALTH_CHECK.timeoutMs }),
  /** Timed-out checks in a row that mark a replica down (a refused connection or a 503 counts at once). */
  HEALTH_UNHEALTHY_THRESHOLD: Type.Integer({ minimum: 1, maximum: 100, default: HEALTH_CHECK.unhealthyThreshold }),
  UPSTREAM_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: UPSTREAM_TIMEOUTS.connectMs }),
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: UPSTREAM_TIMEOUTS.perTryMs }),
  /** Share of requests that may be retried on another replica after a connection failure. */
  RETRY_BUDGET_RATIO: Type.Number({ minimum: 0, maximum: 1, default: RETRY_BUDGET.ratio }),
  /** 5xx answers in a row that eject a replica; connection failures eject at once. */
  EJECT_AFTER_5XX: Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULT_OUTLIER_POLICY.consecutive5xx }),
  /** First ejection period; it doubles on each ejection in a row, up to 30 s. */
  EJECTION_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: DEFAULT_OUTLIER_POLICY.baseEjectionMs }),
  /** What the public /readyz tells about the replicas: counts only, or their addresses and last errors. */
  /** API-tier preprocessing (@mlbench/preprocess syntax), as the monolith's API layer runs it; off by default. */
  PREPROCESS: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * What carries requests to the replicas: our lean forwarder straight onto undici pools
   * (default), or @fastify/http-proxy (reply-from). Same API, balancing, retries, timeouts
   * and metrics; the lean one held 0.98–1.18× the minimal proxy's throughput where
   * http-proxy held 0.66–0.83× (two make perf runs; it prints both).
   */
  FORWARDER: Type.Union([Type.Literal('undici'), Type.Literal('http-proxy')], { default: 'undici' }),
  READYZ_DETAIL: Type.Union([Type.Literal('counts'), Type.Literal('upstreams')], { default: 'counts' }),
  UPSTREAM_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 10_000, default: 128 }),
  /**
   * Requests that may wait per replica beyond its connections before the gateway sheds
   * (503 + Retry-After, UPSTREAM_QUEUE_FULL) instead of queueing without bound.
   */
  UPSTREAM_MAX_QUEUE: Type.Integer({ minimum: 0, maximum: 100_000, default: 1_024 }),
  /**
   * Idle upstream sockets are kept this long. It must stay below the replicas' own
   * keep-alive timeout (KEEP_ALIVE_TIMEOUT_MS, 72 s) so we never reuse a socket the
   * replica is closing; long enough that a pause in traffic does not force a storm of
   * reconnects (measured: 4 s cost a p99 of 106 ms in the first second after 15 s idle).
   */
  UPSTREAM_KEEP_ALIVE_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 60_000 }),
});
export type GatewayConfig = Static<typeof GatewayConfigSchema> & { upstreamUrls: string[] };

export function parseUpstreamUrls(list: string): string[] {
  const urls = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new ConfigError('invalid environment variable PREDICTION_URLS: no URL in the list');
  return urls.map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new ConfigError(`invalid environment variable PREDICTION_URLS: "${u}" is not a URL`);
    }
    if (parsed.protocol !== 'http:')
      throw new ConfigError(`invalid environment variable PREDICTION_URLS: "${u}" must be an http:// URL`);
    return parsed.origin;
  });
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const config = loadConfig(GatewayConfigSchema, env);
  if (!config.PREDICTION_URLS === !config.PREDICTION_DNS)
    throw new ConfigError(
      'invalid environment variable PREDICTION_URLS: set exactly one of PREDICTION_URLS (comma-separated base URLs) or PREDICTION_DNS (host:port)',
    );
  return { ...config, upstreamUrls: config.PREDICTION_URLS ? parseUpstreamUrls(config.PREDICTION_URLS) : [] };
}
