import { STATUS_CODES } from 'node:http';
import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
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
}

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

    await app.register(metricsPlugin, { service: opts.service, metrics });

    app.get('/healthz', { logLevel: 'warn' }, async () => ({
      status: 'ok',
      service: opts.service,
      replica: opts.replicaId,
    }));
    app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
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
