import fp from 'fastify-plugin';
import { collectDefaultMetrics, type Histogram, Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';

/** Fine at the bottom: loopback requests take tens of microseconds to a few milliseconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01,
  0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface ServiceMetrics {
  registry: Registry;
  requestDuration: Histogram<'service' | 'route' | 'method' | 'status_code'>;
  inferenceDuration: Histogram<'service'>;
}

export function createServiceMetrics(service: string, replica: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ replica });
  collectDefaultMetrics({ register: registry });
  const requestDuration = new FastHistogram({
    name: 'http_request_duration_seconds',
    help: 'Server-side time from request received to response sent, by route and status',
    labelNames: ['service', 'route', 'method', 'status_code'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const inferenceDuration = new FastHistogram({
    name: 'model_inference_duration_seconds',
    help: 'Time spent inside the model predict call, per request',
    labelNames: ['service'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  // Pre-create the child so scrapes show the series before the first inference.
  inferenceDuration.labels(service);
  return { registry, requestDuration, inferenceDuration };
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

export const metricsPlugin = fp<{
  service: string;
  metrics: ServiceMetrics;
  observeRequests?: boolean;
  route?: boolean;
}>(
  async (app, { service, metrics, observeRequests = true, route = true }) => {
    app.decorate('metrics', metrics);
    if (observeRequests) {
      // One bound child per label set: observe() on a child skips hashing the labels object
      // on every request, which was most of the instrumentation's cost (make perf). Found by
      // route, method and status in turn: no key string is built per request.
      type Child = ReturnType<typeof metrics.requestDuration.labels>;
      const children = new Map<string, Map<string, Map<number, Child>>>();
      // A callback hook, not an async one: no promise per request on the hot path.
      app.addHook('onResponse', (request, reply, done) => {
        const route = request.routeOptions.url ?? 'unmatched';
        const method = request.method;
        const status = reply.statusCode;
        let byMethod = children.get(route);
        if (!byMethod) {
          byMethod = new Map();
          children.set(route, byMethod);
        }
        let byStatus = byMethod.get(method);
        if (!byStatus) {
          byStatus = new Map();
          byMethod.set(method, byStatus);
        }
        let child = byStatus.get(status);
        if (!child) {
          child = metrics.requestDuration.labels({ service, route, method, status_code: status });
          byStatus.set(status, child);
        }
        child.observe(reply.elapsedTime / 1000);
        done();
      });
    }
    // route false: /metrics is served on METRICS_PORT instead (metrics-listener.ts).
    if (route)
      app.get(
        '/metrics',
        { logLevel: 'warn', config: { pressureHandler: () => undefined } },
        async (_request, reply) => {
          reply.header('content-type', metrics.registry.contentType);
          return metrics.registry.metrics();
        },
      );
  },
  { name: 'mlbench-metrics' },
);
