import type { LinearModel } from '@mlbench/model/serve';
import type { FastifyPluginAsync } from 'fastify';
import {
  batchBodySchema,
  batchResponseSchema,
  errorResponseSchema,
  predictBodySchema,
  predictResponseSchema,
} from './schemas.js';

export interface PredictRoutesOptions {
  model: LinearModel;
  maxBatch: number;
  /** Called with each inference's duration in seconds (metrics hook). */
  onInference?: (seconds: number, rows: number) => void;
}

interface PredictBody {
  features: number[];
}
interface BatchBody {
  instances: number[][];
}

/** POST /predict and POST /predict/batch over an in-process model. */
export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app, opts) => {
  const { model, onInference } = opts;
  const limits = { features: model.featureCount, maxFeatures: model.featureCount, maxBatch: opts.maxBatch };
  const modelRef = { name: model.name, version: model.version };
  const errors = { 400: errorResponseSchema, 413: errorResponseSchema };

  app.post<{ Body: PredictBody }>(
    '/predict',
    { schema: { body: predictBodySchema(limits), response: { 200: predictResponseSchema, ...errors } } },
    async (request) => {
      const t0 = performance.now();
      const prediction = model.predict(request.body.features);
      onInference?.((performance.now() - t0) / 1000, 1);
      return { prediction, model: modelRef };
    },
  );

  app.post<{ Body: BatchBody }>(
    '/predict/batch',
    { schema: { body: batchBodySchema(limits), response: { 200: batchResponseSchema, ...errors } } },
    async (request) => {
      const t0 = performance.now();
      const predictions = model.predictBatch(request.body.instances);
      onInference?.((performance.now() - t0) / 1000, predictions.length);
      return { predictions, model: modelRef };
    },
  );
};
