import { type ModelServiceOptions, modelServiceApp } from '@mlbench/prediction';
import type { FastifyPluginAsync } from 'fastify';

/**
 * API and model in one process. It is deliberately the same code as the prediction
 * service: the benchmark compares topologies, so per-request work must be identical
 * and only the network hop through the gateway may differ.
 */
export const monolithApp: FastifyPluginAsync<Omit<ModelServiceOptions, 'service'>> = async (app, opts) => {
  await app.register(modelServiceApp, { ...opts, service: 'monolith' });
};

export default monolithApp;
