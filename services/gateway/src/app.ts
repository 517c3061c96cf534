import { Balancer, DEFAULT_OUTLIER_POLICY, RetryBudget, UpstreamPool, type UpstreamState } from '@mlbench/balancer';
import { PreprocessError, Preprocessor, parsePreprocessSpec } from '@mlbench/preprocess';
import { metricsListenFor, runtimePlugin, sheddingFrom } from '@mlbench/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { Agent } from 'undici';
import { UpstreamClients } from './clients.js';
import type { GatewayConfig } from './config.js';
import { DnsDiscovery } from './discovery.js';
import { Exchanges, sendError } from './exchange.js';
import { registerHttpProxyForwarder } from './forward-http-proxy.js';
import { registerUndiciForwarder } from './forward-undici.js';
import { PendingPerReplica } from './pending.js';
import { UpstreamOutcomes } from './upstream-metrics.js';

export interface GatewayOptions {
  replicaId: string;
  config: GatewayConfig;
}

declare module 'fastify' {
  interface FastifyRequest {
    upstream: UpstreamState | undefined;
    retried: boolean;
    /** The replica whose pending count this request holds (released when the replica is done with it). */
    occupies: string | undefined;
  }
  interface FastifyInstance {
    upstreams: UpstreamPool;
  }
}

/**
 * The API tier's work at the gateway: parse the client's body, validate and expand its raw
 * inputs (the same code as the monolith's API layer), and forward the expanded vector, as
 * a real gateway's would. Only with PREPROCESS; otherwise bodies pass through unparsed.
 */
export function rewriteBody(
  p: Preprocessor,
  body: Buffer,
  url: string,
): { body: Buffer } | { error: string; code: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'body is not valid JSON', code: 'FST_ERR_CTP_INVALID_JSON_BODY' };
  }
  const o = parsed as { features?: unknown; instances?: unknown };
  try {
    if (url.startsWith('/predict/batch')) {
      if (!Array.isArray(o.instances) || o.instances.length === 0 || !o.instances.every(Array.isArray))
        return { error: 'body must be {"instances": [[number, …], …]}', code: 'FST_ERR_VALIDATION' };
      const instances = o.instances.map((x: number[], i: number) => p.apply(x, `instances[${i}]`));
      return { body: Buffer.from(JSON.stringify({ instances })) };
    }
    if (!Array.isArray(o.features))
      return { error: 'body must be {"features": [number, …]}', code: 'FST_ERR_VALIDATION' };
    return { body: Buffer.from(JSON.stringify({ features: p.apply(o.features as number[]) })) };
  } catch (err) {
    if (err instanceof PreprocessError) return { error: err.message, code: err.code };
    throw err;
  }
}

/** The public prediction API, proxied round robin to healthy prediction replicas. */
export const gatewayApp: FastifyPluginAsync<GatewayOptions> = async (app, { replicaId, config }) => {
  const clients = new UpstreamClients({
    connections: config.UPSTREAM_CONNECTIONS,
    pipelining: 1,
    connectTimeout: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    headersTimeout: config.UPSTREAM_TIMEOUT_MS,
    bodyTimeout: config.UPSTREAM_TIMEOUT_MS,
    keepAliveTimeout: config.UPSTREAM_KEEP_ALIVE_MS,
    keepAliveMaxTimeout: config.UPSTREAM_KEEP_ALIVE_MS,
  });
  const pending = new PendingPerReplica(config.UPSTREAM_CONNECTIONS + config.UPSTREAM_MAX_QUEUE);
  let outcomes: UpstreamOutcomes | undefined;
  // Health checks on connections of their own: in the proxy's pool they waited behind the
  // traffic, timed out under overload, and every replica (the last one too) was marked down.
  const healthAgent = new Agent({ connections: 1, pipelining: 1, connectTimeout: config.HEALTH_TIMEOUT_MS });
  const pool = new UpstreamPool({
    onForget: (origin) => {
      outcomes?.forget(origin);
      pending.forget(origin);
      clients.forget(origin);
    },
    dispatcher: healthAgent,
    healthIntervalMs: config.HEALTH_INTERVAL_MS,
    healthTimeoutMs: config.HEALTH_TIMEOUT_MS,
    unhealthyThreshold: config.HEALTH_UNHEALTHY_THRESHOLD,
    outlier: {
      ...DEFAULT_OUTLIER_POLICY,
      consecutive5xx: config.EJECT_AFTER_5XX,
      baseEjectionMs: config.EJECTION_MS,
    },
  });
  app.decorate('upstreams', pool);
  let discovery: DnsDiscovery | undefined;
  if (config.PREDICTION_DNS) {
    discovery = new DnsDiscovery(config.PREDICTION_DNS, pool, config.DNS_REFRESH_MS, app.log);
    await discovery.start();
  } else pool.setOrigins(config.upstreamUrls);
  pool.start();
  app.addHook('onClose', async () => {
    discovery?.stop();
    pool.stop();
    await Promise.all([clients.close(), healthAgent.close()]);
  });

  await app.register(runtimePlugin, {
    service: 'gateway',
    replicaId,
    shedding: sheddingFrom(config),
    requestMetrics: config.REQUEST_METRICS === 'on',
    metricsListen: metricsListenFor(config),
    // /readyz is on the public port: by default it says how many replicas are usable, not
    // where they are (their addresses and errors name the internal network).
    readiness: () => ({
      ready: pool.usableCount() > 0,
      detail:
        config.READYZ_DETAIL === 'upstreams'
          ? {
              upstreams: pool.all.map((u) => ({
                origin: u.origin,
                usable: pool.isUsable(u),
                requests: u.requests,
                ...(u.lastError ? { lastError: u.lastError } : {}),
              })),
            }
          : { upstreams: { known: pool.all.length, usable: pool.usableCount() } },
    }),
  });

  outcomes = new UpstreamOutcomes(
    new Counter({
      name: 'gateway_upstream_requests_total',
      help: 'Requests the gateway sent to each prediction replica, by outcome',
      labelNames: ['upstream', 'outcome'] as const,
      registers: [app.metrics.registry],
    }),
  );
  // Collected on scrape: how many replicas the gateway knows (discovery) and may send to now.
  new Gauge({
    name: 'gateway_upstreams',
    help: 'Prediction replicas known to the gateway, and how many of them are usable (healthy, not ejected)',
    labelNames: ['state'] as const,
    registers: [app.metrics.registry],
    collect() {
      this.set({ state: 'known' }, pool.all.length);
      this.set({ state: 'usable' }, pool.usableCount());
    },
  });

  const retriedTotal = new Counter({
    name: 'gateway_retries_total',
    help: 'Requests retried on another replica after a connection failure',
    registers: [app.metrics.registry],
  });

  app.decorateRequest('upstream', undefined);
  app.decorateRequest('retried', false);
  app.decorateRequest('occupies', undefined);

  const exchanges = new Exchanges(
    pool,
    new Balancer(pool, new RetryBudget(config.RETRY_BUDGET_RATIO)),
    pending,
    outcomes,
    retriedTotal,
  );
  const preprocess = config.PREPROCESS ? new Preprocessor(parsePreprocessSpec(config.PREPROCESS)) : undefined;
  /** The API tier's work before forwarding; false when it has answered (400, 503) itself. */
  const beforeForward = (request: FastifyRequest, reply: FastifyReply): boolean => {
    if (preprocess) {
      const rewritten = rewriteBody(preprocess, request.body as Buffer, request.url);
      if ('error' in rewritten) {
        sendError(reply, 400, 'Bad Request', rewritten.error, rewritten.code);
        return false;
      }
      request.body = rewritten.body;
    }
    return exchanges.choose(request, reply);
  };

  // Bodies are buffered (bodyLimit applies, chunked or not, so oversize is a 413 here and
  // never a reset mid-upload) but not parsed: the replica validates and its 400 passes through.
  // They are forwarded as one Buffer with a content-length: forwarding a stream made undici
  // upload in pieces and cost tens of ms at p99 (measured: p99 60 ms vs 7 ms at 1k req/s).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, body);
    });
    const deps = { clients, exchanges, beforeForward };
    if (config.FORWARDER === 'http-proxy') await registerHttpProxyForwarder(scope, deps);
    else registerUndiciForwarder(scope, deps);
  });
};

export default gatewayApp;
export { type GatewayConfig, GatewayConfigSchema, loadGatewayConfig } from './config.js';
