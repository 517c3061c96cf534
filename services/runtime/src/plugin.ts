import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import { join } from 'node:path';
import underPressure from '@fastify/under-pressure';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import type { BaseConfig } from './config.js';
import { FreezeDetector } from './freeze.js';
import { createServiceMetrics, metricsPlugin, type ServiceMetrics } from './metrics.js';
import { listenMetrics, metricsAddress } from './metrics-listener.js';

export interface Readiness {
  ready: boolean;
  detail?: Record<string, unknown>;
}

export interface RuntimeOptions {
  service: string;
  replicaId: string;
  /** What /readyz reports; defaults to always ready. */
  readiness?: () => Readiness | Promise<Readiness>;
  metrics?: ServiceMetrics;
  /** Load shedding thresholds; omitted: no shedding. */
  shedding?: SheddingOptions;
  /** false: no per-request histogram (REQUEST_METRICS=off). */
  requestMetrics?: boolean;
  /**
   * Serve /metrics on this listener of its own (opened when the app is ready, closed with
   * it) and not on the app's port; omitted: /metrics on the app's port.
   */
  metricsListen?: { host: string; port: number } | undefined;
}

/** Where a configuration wants /metrics: METRICS_PORT on METRICS_HOST (default HOST), or the app's own port. */
export const metricsListenFor = (
  config: Pick<BaseConfig, 'METRICS_PORT' | 'METRICS_HOST' | 'HOST'>,
): RuntimeOptions['metricsListen'] =>
  config.METRICS_PORT === undefined
    ? undefined
    : { host: config.METRICS_HOST ?? config.HOST, port: config.METRICS_PORT };

declare module 'fastify' {
  interface FastifyRequest {
    shedReason: string | undefined;
  }
}

/** Read a request body to its end without keeping it; stop (and drop the socket) past `limit` bytes. */
function discardBody(raw: IncomingMessage, limit: number): Promise<void> {
  return new Promise((resolve) => {
    if (raw.readableEnded) return resolve();
    let seen = 0;
    raw.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) {
        raw.socket.destroy();
        resolve();
      }
    });
    raw.once('end', () => resolve());
    raw.once('error', () => resolve());
    raw.once('close', () => resolve());
  });
}

export interface SheddingOptions {
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxHeapUsedMB: number;
}

/** Shedding thresholds from the validated environment. */
export function sheddingFrom(
  config: Pick<BaseConfig, 'SHED_EVENT_LOOP_DELAY_MS' | 'SHED_EVENT_LOOP_UTILIZATION' | 'SHED_HEAP_USED_MB'>,
): SheddingOptions {
  return {
    maxEventLoopDelayMs: config.SHED_EVENT_LOOP_DELAY_MS,
    maxEventLoopUtilization: config.SHED_EVENT_LOOP_UTILIZATION,
    maxHeapUsedMB: config.SHED_HEAP_USED_MB ?? defaultHeapShedMB(memoryLimitBytes()),
  };
}

/** Heap shedding's threshold when none is set: 60 % of a memory limit, else 512 MB. */
export function defaultHeapShedMB(limitBytes: number | undefined): number {
  return limitBytes ? Math.floor((limitBytes / 2 ** 20) * 0.6) : 512;
}

/**
 * The memory limit of this process's cgroup, in bytes (cgroup v2 memory.max, or v1
 * memory.limit_in_bytes), or undefined when there is none ("max", or v1's page-rounded
 * near-2^63 figure for unlimited).
 */
export function memoryLimitBytes(root = '/sys/fs/cgroup'): number | undefined {
  for (const file of ['memory.max', 'memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = readFileSync(join(root, file), 'utf8').trim();
    } catch {
      continue;
    }
    const n = Number(text);
    return text === 'max' || !Number.isFinite(n) || n <= 0 || n >= 2 ** 60 ? undefined : n;
  }
  return undefined;
}

/**
 * A saturated event loop must last before it counts: on a core shared by several
 * processes, utilization reads 1 for a moment whenever the process waits for the CPU
 * (a sibling's burst, a replica failing over), which is no reason to reject work.
 */
const SUSTAINED_MS = 1_500;

class SustainedPressure {
  private since = 0;
  private last = 0;

  constructor(private readonly forMs: number) {}

  /** Called on each request seen under pressure; true once pressure has lasted forMs. */
  observe(now = performance.now()): boolean {
    // A gap longer than a sample (500 ms) means the pressure went away in between.
    if (now - this.last > 600) this.since = now;
    this.last = now;
    return now - this.since >= this.forMs;
  }
}

/** Health and metrics must answer under pressure: they are how the overload is seen. */
const NEVER_SHED = { pressureHandler: () => undefined };

/** Shared plumbing for every service: x-served-by, metrics, health and uniform JSON errors. */
export const runtimePlugin = fp<RuntimeOptions>(
  async (app, opts) => {
    const metrics = opts.metrics ?? createServiceMetrics(opts.service, opts.replicaId);
    let closing = false;
    app.addHook('onClose', async () => {
      closing = true;
    });

    // Set first so a proxied response's own x-served-by (from the replica) replaces it. With
    // shedding on, the shedding hook sets it (one hook a request fewer: make perf).
    const servedBy = (reply: { header(name: string, value: string): unknown }) =>
      reply.header('x-served-by', opts.replicaId);
    const shedding = opts.shedding && Object.values(opts.shedding).some((v) => v > 0) ? opts.shedding : undefined;
    if (!shedding)
      app.addHook('onRequest', (_request, reply, done) => {
        servedBy(reply);
        done();
      });

    // The API speaks JSON only; other media types get 415 rather than a confusing schema error.
    app.removeContentTypeParser('text/plain');

    if (shedding) {
      // Overloaded, a service answers 503 + Retry-After at once instead of queueing without bound.
      const freeze = new FreezeDetector();
      const sustained = new SustainedPressure(SUSTAINED_MS);
      const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024;
      app.addHook('onClose', async () => freeze.stop());
      await app.register(underPressure, {
        maxEventLoopDelay: shedding.maxEventLoopDelayMs,
        maxHeapUsedBytes: shedding.maxHeapUsedMB * 1024 * 1024,
        maxEventLoopUtilization: shedding.maxEventLoopUtilization,
        // Utilization over the last sample, not since start-up (the default would never trip).
        eventLoopUtilizationMode: 'interval',
        sampleInterval: 500,
        // Only mark the request here; it is answered once its body has been read (below).
        pressureHandler: (request, _reply, type) => {
          if ((type === 'eventLoopDelay' || type === 'eventLoopUtilization') && freeze.recentlyFrozen()) return;
          if (type === 'eventLoopUtilization' && !sustained.observe()) return;
          request.shedReason = type;
        },
      });
      app.decorateRequest('shedReason', undefined);
      // Answering before the client has sent its body makes Node close the connection under
      // the client (ECONNRESET instead of a clean 503). Read and discard the body, unparsed
      // (parsing is the cost being shed), then answer 503 with Retry-After.
      // Callback style: the usual case (no pressure) costs one property check, no promise.
      app.addHook('onRequest', (request, reply, done) => {
        servedBy(reply);
        if (!request.shedReason) return done();
        void discardBody(request.raw, bodyLimit).then(() => {
          reply.header('retry-after', '1').code(503);
          reply.send({
            statusCode: 503,
            error: 'Service Unavailable',
            message: `overloaded (${request.shedReason}): shedding load, retry later`,
            code: 'FST_UNDER_PRESSURE',
          });
        });
      });
    }

    await app.register(metricsPlugin, {
      service: opts.service,
      metrics,
      observeRequests: opts.requestMetrics ?? true,
      route: opts.metricsListen === undefined,
    });
    const listen = opts.metricsListen;
    if (listen) {
      let server: Server | undefined;
      app.addHook('onReady', async () => {
        server = await listenMetrics(metrics.registry, listen.host, listen.port);
        app.log.info({ metrics: metricsAddress(server) }, '/metrics on its own port');
      });
      // Closed with the app, after its requests drained: scrapes keep working while it drains.
      app.addHook('onClose', async () => {
        if (!server) return;
        server.closeAllConnections();
        await new Promise((resolve) => server?.close(resolve));
      });
    }

    app.get('/healthz', { logLevel: 'warn', config: NEVER_SHED }, async () => ({
      status: 'ok',
      service: opts.service,
      replica: opts.replicaId,
    }));
    app.get('/readyz', { logLevel: 'warn', config: NEVER_SHED }, async (_request, reply) => {
      const r = closing
        ? { ready: false, detail: { reason: 'shutting down' } }
        : await (opts.readiness?.() ?? { ready: true });
      reply.code(r.ready ? 200 : 503);
      return { status: r.ready ? 'ready' : 'not ready', service: opts.service, replica: opts.replicaId, ...r.detail };
    });

    app.setNotFoundHandler((request, reply) => {
      reply
        .code(404)
        .send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url}` });
    });

    app.setErrorHandler<FastifyError>((err, request, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
      // A client that hung up mid-request (the end of every load test) is not a server fault:
      // the proxy's aborted upstream read lands here, once per request in flight.
      const clientGone = request.raw.destroyed || reply.raw.destroyed;
      if (status >= 500) request.log[clientGone ? 'info' : 'error']({ err, reqId: request.id }, 'request failed');
      reply.code(status).send({
        statusCode: status,
        error: STATUS_CODES[status] ?? 'Error',
        message: status >= 500 && status !== 503 ? 'internal error' : err.message,
        ...(err.code ? { code: err.code } : {}),
      });
    });
  },
  { name: 'mlbench-runtime' },
);
