import type { Model } from '@mlbench/model/serve';
import { PreprocessError, type Preprocessor } from '@mlbench/preprocess';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  batchBodySchema,
  batchResponseSchema,
  errorResponseSchema,
  predictBodySchema,
  predictResponseSchema,
} from './schemas.js';

export interface PredictRoutesOptions {
  model: Model;
  /** Raw inputs → the model's features, before the model (400 on a bad input). */
  preprocess?: Preprocessor | undefined;
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

/**
 * Finite inputs can still overflow: [1e308, …] times a weight above 1 is Infinity, and
 * +Inf + −Inf is NaN. JSON has no such numbers (the serializer wrote null, or threw: a
 * 500), so an answer that is not a finite number is the caller's input out of range: 400.
 */
function notFinite(reply: FastifyReply, where: string) {
  return reply.code(400).send({
    statusCode: 400,
    error: 'Bad Request',
    message: `${where} is not a finite number: the features' magnitudes overflow the model (keep |x| well below 1e300)`,
    code: 'PREDICTION_NOT_FINITE',
  });
}

/** Run the API tier's preprocessing; a refused input is answered 400 here (undefined returned). */
function preprocessed<T>(reply: FastifyReply, work: () => T): T | undefined {
  try {
    return work();
  } catch (err) {
    if (!(err instanceof PreprocessError)) throw err;
    void reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: err.message, code: err.code });
    return undefined;
  }
}

/** POST /predict and POST /predict/batch over an in-process model. */
export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app, opts) => {
  const { model, onInference, preprocess } = opts;
  const inputs = preprocess?.rawFeatures ?? model.featureCount;
  const limits = { features: inputs, maxFeatures: inputs, maxBatch: opts.maxBatch };
  const modelRef = { name: model.name, version: model.version };
  const errors = { 400: errorResponseSchema, 413: errorResponseSchema };

  app.post<{ Body: PredictBody }>(
    '/predict',
    { schema: { body: predictBodySchema(limits), response: { 200: predictResponseSchema, ...errors } } },
    async (request, reply) => {
      const features = preprocess
        ? preprocessed(reply, () => preprocess.apply(request.body.features))
        : request.body.features;
      if (!features) return reply;
      const t0 = performance.now();
      const prediction = model.predict(features);
      onInference?.((performance.now() - t0) / 1000, 1);
      if (!Number.isFinite(prediction)) return notFinite(reply, 'the prediction');
      return { prediction, model: modelRef };
    },
  );

  app.post<{ Body: BatchBody }>(
    '/predict/batch',
    { schema: { body: batchBodySchema(limits), response: { 200: batchResponseSchema, ...errors } } },
    async (request, reply) => {
      const instances = preprocess
        ? preprocessed(reply, () => request.body.instances.map((x, i) => preprocess.apply(x, `instances[${i}]`)))
        : request.body.instances;
      if (!instances) return reply;
      const t0 = performance.now();
      const predictions = model.predictBatch(instances);
      onInference?.((performance.now() - t0) / 1000, predictions.length);
      const bad = predictions.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) return notFinite(reply, `the prediction for instance ${bad}`);
      return { predictions, model: modelRef };
    },
  );
};
