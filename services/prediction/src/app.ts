import { type ModelServiceOptions, modelServiceApp } from '@mlbench/serving';
import type { FastifyPluginAsync } from 'fastify';

/** The prediction tier: the model behind HTTP and nothing else (the gateway does the API work). */
export const predictionApp: FastifyPluginAsync<ModelServiceOptions> = async (app, opts) => {
  await app.register(modelServiceApp, { ...opts, service: 'prediction' });
};
