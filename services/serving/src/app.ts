import { type Model, measureInferenceUs } from '@mlbench/model/serve';
import type { Preprocessor } from '@mlbench/preprocess';
import { type RuntimeOptions, runtimePlugin, type SheddingOptions } from '@mlbench/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { predictRoutes } from './routes.js';

export interface ModelServiceOptions {
  /** "prediction" or "monolith": the same model API, named for the tier it plays. */
  service: string;
  replicaId: string;
  model: Model;
  /** The API tier's work before the model (the monolith's, when PREPROCESS is set). */
  preprocess?: Preprocessor | undefined;
  maxBatch: number;
  shedding?: SheddingOptions;
  requestMetrics?: boolean;
  /** /metrics on a port of its own (METRICS_PORT), not on the public port. */
  metricsListen?: RuntimeOptions['metricsListen'];
}

const described = new WeakMap<Model, { usPerPrediction: number }>();

/**
 * What /readyz says of the model: family, size, µs per prediction (timed once, at start,
 * in this process) and resident MB (this process's RSS now, with the model loaded).
 */
export function describeModel(model: Model) {
  let timed = described.get(model);
  if (!timed) {
    timed = { usPerPrediction: Number(measureInferenceUs(model, 100).toFixed(3)) };
    described.set(model, timed);
  }
  return {
    name: model.name,
    version: model.version,
    family: model.family,
    size: model.size,
    features: model.featureCount,
    parameterMB: Number((model.parameterBytes / 2 ** 20).toFixed(2)),
    usPerPrediction: timed.usPerPrediction,
    residentMB: Number((process.memoryUsage.rss() / 2 ** 20).toFixed(1)),
  };
}

/**
 * The model behind HTTP: runtime plumbing (metrics, health, shedding) and the predict
 * routes. The prediction service is this alone; the monolith is this with its API tier in
 * the same process.
 */
export const modelServiceApp: FastifyPluginAsync<ModelServiceOptions> = async (app, opts) => {
  // Timed before listening: a 20 ms model takes 100 ms here, not in a readiness probe.
  describeModel(opts.model);
  await app.register(runtimePlugin, {
    service: opts.service,
    replicaId: opts.replicaId,
    readiness: () => ({ ready: true, detail: { model: describeModel(opts.model) } }),
    ...(opts.shedding ? { shedding: opts.shedding } : {}),
    requestMetrics: opts.requestMetrics ?? true,
    metricsListen: opts.metricsListen,
  });
  const inference = app.metrics.inferenceDuration.labels(opts.service);
  await app.register(predictRoutes, {
    model: opts.model,
    preprocess: opts.preprocess,
    maxBatch: opts.maxBatch,
    onInference: (seconds) => inference.observe(seconds),
  });
};
