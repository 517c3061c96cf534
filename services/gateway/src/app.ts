import httpProxy from '@fastify/http-proxy';
import type { FastifyReplyFromHooks } from '@fastify/reply-from';
import {
  Balancer,
  classifyUpstreamError,
  DEFAULT_OUTLIER_POLICY,
  RetryBudget,
  shedKind,
  UpstreamPool,
  type UpstreamState,
} from '@mlbench/balancer';
import { PreprocessError, Preprocessor, parsePreprocessSpec } from '@mlbench/preprocess';
import { metricsListenFor, runtimePlugin, sheddingFrom } from '@mlbench/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { Agent, type Dispatcher } from 'undici';
import type { GatewayConfig } from './config.js';
import { DnsDiscovery } from './discovery.js';
import { PendingPerReplica } from './pending.js';
import { UpstreamOutcomes } from './upstream-metrics.js';

const OPAQUE = 'application/octet-stream';

export interface GatewayOptions {
  replicaId: string;
  config: GatewayConfig;
}

declare module 'fastify' {
  interface FastifyRequest {
    upstream: UpstreamState | undefined;
    retried: boolean;
    /** The replica whose pending count this request holds (released when it is answered). */
    occupies: string | undefined;
  }
  interface FastifyInstance {
    upstreams: UpstreamPool;
  }
}

/** reply-from's undici response carries the upstream headers (its type only names the stream). */
const upstreamHeaders = (res: unknown) => (res as { headers: Record<string, unknown> }).headers;

interface Replier {
  code(status: number): { send(payload: unknown): unknown };
}

function sendError(reply: Replier, status: number, error: string, message: string, code: string) {
  return reply.code(status).send({ statusCode: status, error, message, code });
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
  const dispatcher = new Agent({
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
    await Promise.all([dispatcher.close(), healthAgent.close()]);
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
  const countOutcome = (origin: string, outcome: string) => outcomes?.count(origin, outcome);

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

  const hasRoom = (u: UpstreamState) => pending.hasRoom(u.origin);
  const occupy = (request: { occupies: string | undefined }, u: UpstreamState) => pending.occupy(request, u.origin);
  const release = (request: { occupies: string | undefined }) => pending.release(request);
  /** The balancer's choice, or the next replica with room when that one is full. */
  const pickWithRoom = (): UpstreamState | 'full' | undefined => {
    const first = balancer.begin();
    if (!first || hasRoom(first)) return first;
    for (let i = 1; i < pool.all.length; i++) {
      const next = pool.pick(first);
      if (next && hasRoom(next)) return next;
    }
    return 'full';
  };

  const balancer = new Balancer(pool, new RetryBudget(config.RETRY_BUDGET_RATIO));
  const preprocess = config.PREPROCESS ? new Preprocessor(parsePreprocessSpec(config.PREPROCESS)) : undefined;
  /** Send the request on to the replica the balancer chose for its retry, if it chose one. */
  const retryOn = (
    request: { retried: boolean; upstream: UpstreamState | undefined; occupies: string | undefined },
    other: UpstreamState | undefined,
  ) => {
    if (!other || !hasRoom(other)) return false;
    request.retried = true;
    request.upstream = other;
    occupy(request, other);
    retriedTotal.inc();
    return true;
  };
  const replyOptions: FastifyReplyFromHooks = {
    // reply-from hands over its own copy of the client's headers: set the type in place.
    rewriteRequestHeaders: (_request, headers) => {
      headers['content-type'] = 'application/json';
      return headers;
    },
    getUpstream: (request) => (request as { upstream?: UpstreamState }).upstream?.origin ?? '',
    onResponse: (request, reply, res) => {
      const u = request.upstream;
      if (u) {
        countOutcome(u.origin, String(res.statusCode));
        // A replica shedding load or draining (503 + Retry-After) did no work: the request may
        // go elsewhere (a draining one is marked down too; see the balancer's shed.ts).
        const h = upstreamHeaders(res);
        const shed = shedKind(res.statusCode, h['retry-after'], h.connection);
        if (retryOn(request, balancer.answered(u, res.statusCode, shed, request.retried))) {
          res.stream.resume();
          return reply.from(request.url, replyOptions);
        }
      }
      // The answer is small and bounded (≤ MAX_BATCH predictions): read it whole and send one
      // Buffer, which Fastify writes with its headers at once; piping the stream cost events,
      // end-of-stream listeners and extra writes per request.
      (res.stream as unknown as Dispatcher.ResponseData['body']).bytes().then(
        (bytes) => reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
        (error: Error) => replyOptions.onError?.(reply as never, { error }),
      );
    },
    onError: (reply, { error }) => {
      const request = reply.request;
      const u = request.upstream;
      // A prediction is idempotent and a failed connection never reached the model: the
      // balancer may send it to one other replica (timeouts are not retried).
      const { failure, retry } = u
        ? balancer.failed(u, error, request.retried)
        : { failure: classifyUpstreamError(error), retry: undefined };
      if (u) countOutcome(u.origin, failure.code);
      if (retryOn(request, retry)) return reply.from(request.url, replyOptions);
      sendError(
        reply,
        failure.status,
        failure.status === 504 ? 'Gateway Timeout' : 'Bad Gateway',
        failure.message,
        failure.code,
      );
    },
  };

  // Bodies are buffered (bodyLimit applies, chunked or not, so oversize is a 413 here and
  // never a reset mid-upload) but not parsed: the replica validates and its 400 passes through.
  // They are forwarded as one Buffer with a content-length: forwarding a stream made undici
  // upload in pieces and cost tens of ms at p99 (measured: p99 60 ms vs 7 ms at 1k req/s).
  await app.register(async (proxyScope) => {
    proxyScope.removeAllContentTypeParsers();
    proxyScope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, body);
    });
    proxyScope.addHook('onResponse', (request, _reply, done) => {
      release(request);
      done();
    });
    // A client that hangs up before the answer releases its place too.
    proxyScope.addHook('onRequestAbort', (request, done) => {
      release(request);
      done();
    });
    await proxyScope.register(httpProxy, {
      // reply-from logs every upstream failure at warn; during a replica outage that is a flood.
      logLevel: 'error',
      // Upstream is chosen per request by getUpstream; this placeholder is never used.
      upstream: '',
      prefix: '/predict',
      rewritePrefix: '/predict',
      httpMethods: ['POST'],
      undici: dispatcher,
      proxyPayloads: false,
      preHandler: async (request, reply) => {
        if (preprocess) {
          const rewritten = rewriteBody(preprocess, request.body as Buffer, request.url);
          if ('error' in rewritten) return sendError(reply, 400, 'Bad Request', rewritten.error, rewritten.code);
          request.body = rewritten.body;
        }
        // reply-from re-serializes application/json bodies with JSON.stringify (a Buffer would
        // become {"type":"Buffer",…}); presenting the bytes as opaque keeps them verbatim, and
        // rewriteRequestHeaders restores the real type on the upstream request.
        request.raw.headers['content-type'] = OPAQUE;
        const picked = pickWithRoom();
        if (picked === undefined)
          return sendError(reply, 503, 'Service Unavailable', 'no healthy prediction replica', 'NO_HEALTHY_UPSTREAM');
        if (picked === 'full') {
          reply.header('retry-after', '1');
          return sendError(
            reply,
            503,
            'Service Unavailable',
            `every prediction replica has ${pending.max} requests waiting`,
            'UPSTREAM_QUEUE_FULL',
          );
        }
        request.upstream = picked;
        occupy(request, picked);
      },
      replyOptions,
    });
  });
};

export default gatewayApp;
export { type GatewayConfig, GatewayConfigSchema, loadGatewayConfig } from './config.js';
