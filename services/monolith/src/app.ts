import { type ModelServiceOptions, modelServiceApp } from '@mlbench/serving';
import type { FastifyPluginAsync } from 'fastify';

/**
 * API tier and model in one process. The per-request work is the same code as the
 * prediction service's (both come from @mlbench/serving): the benchmark compares
 * topologies, so only the network hop through the gateway may differ. API-tier work
 * (preprocessing) registers here, before the model's routes, when it is configured.
 */
export const monolithApp: FastifyPluginAsync<ModelServiceOptions> = async (app, opts) => {
  await app.register(modelServiceApp, { ...opts, service: 'monolith' });
};
