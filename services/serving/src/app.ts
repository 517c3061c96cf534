import type { LinearModel } from '@mlbench/model/serve';
import { runtimePlugin, type SheddingOptions } from '@mlbench/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { predictRoutes } from './routes.js';

export interface ModelServiceOptions {
  /** "prediction" or "monolith": the same model API, named for the tier it plays. */
  service: string;
  replicaId: string;
  model: LinearModel;
  maxBatch: number;
  shedding?: SheddingOptions;
  requestMetrics?: boolean;
}

/**
 * The model behind HTTP: runtime plumbing (metrics, health, shedding) and the predict
 * routes. The prediction service is this alone; the monolith is this with its API tier in
 * the same process.
 */
export const modelServiceApp: FastifyPluginAsync<ModelServiceOptions> = async (app, opts) => {
  await app.register(runtimePlugin, {
    service: opts.service,
    replicaId: opts.replicaId,
    readiness: () => ({ ready: true, detail: { model: { name: opts.model.name, version: opts.model.version } } }),
    ...(opts.shedding ? { shedding: opts.shedding } : {}),
    requestMetrics: opts.requestMetrics ?? true,
  });
  const inference = app.metrics.inferenceDuration.labels(opts.service);
  await app.register(predictRoutes, {
    model: opts.model,
    maxBatch: opts.maxBatch,
    onInference: (seconds) => inference.observe(seconds),
  });
};
