import { STATUS_CODES } from 'node:http';
import underPressure from '@fastify/under-pressure';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import type { BaseConfig } from './config.js';
import { FreezeDetector } from './freeze.js';
import { createServiceMetrics, metricsPlugin, type ServiceMetrics } from './metrics.js';

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
}

export interface SheddingOptions {
  maxEventLoopDelayMs: number;
  maxHeapUsedMB: number;
}

/** Shedding thresholds from the validated environment. */
export function sheddingFrom(
  config: Pick<BaseConfig, 'SHED_EVENT_LOOP_DELAY_MS' | 'SHED_HEAP_USED_MB'>,
): SheddingOptions {
  return { maxEventLoopDelayMs: config.SHED_EVENT_LOOP_DELAY_MS, maxHeapUsedMB: config.SHED_HEAP_USED_MB };
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

    // Set first so a proxied response's own x-served-by (from the replica) replaces it.
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-served-by', opts.replicaId);
    });

    // The API speaks JSON only; other media types get 415 rather than a confusing schema error.
    app.removeContentTypeParser('text/plain');

    if (opts.shedding && (opts.shedding.maxEventLoopDelayMs > 0 || opts.shedding.maxHeapUsedMB > 0)) {
      // Overloaded, a service answers 503 + Retry-After at once instead of queueing without bound.
      const freeze = new FreezeDetector();
      app.addHook('onClose', async () => freeze.stop());
      await app.register(underPressure, {
        maxEventLoopDelay: opts.shedding.maxEventLoopDelayMs,
        maxHeapUsedBytes: opts.shedding.maxHeapUsedMB * 1024 * 1024,
        sampleInterval: 500,
        pressureHandler: (_request, reply, type) => {
          if (type === 'eventLoopDelay' && freeze.recentlyFrozen()) return undefined;
          reply.header('retry-after', '1').code(503);
          // A non-null return is sent by under-pressure as the body (its type says void).
          return {
            statusCode: 503,
            error: 'Service Unavailable',
            message: `overloaded (${type}): shedding load, retry later`,
            code: 'FST_UNDER_PRESSURE',
          } as unknown as undefined;
        },
      });
    }

    await app.register(metricsPlugin, { service: opts.service, metrics });

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
      if (status >= 500) request.log.error({ err }, 'request failed');
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
