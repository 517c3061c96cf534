import { loadModel } from '@mlbench/model/serve';
import { Preprocessor, parsePreprocessSpec } from '@mlbench/preprocess';
import {
  createFastify,
  listenUntilSignalled,
  loadConfig,
  metricsListenFor,
  replicaIdFor,
  sheddingFrom,
} from '@mlbench/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { type ModelServiceOptions, modelServiceApp } from './app.js';
import { ModelServiceConfig } from './config.js';

/**
 * Validated config → model loaded → listening. Any failure rejects with one clear message.
 * `tierApp` is the deployable's own app (default: the model service alone).
 */
export async function startModelService(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
  tierApp: FastifyPluginAsync<ModelServiceOptions> = modelServiceApp,
): Promise<void> {
  const config = loadConfig(ModelServiceConfig, env);
  const model = await loadModel(config.MODEL_PATH);
  // The monolith's API layer preprocesses; a prediction replica gets features already expanded.
  const preprocess =
    service === 'monolith' && config.PREPROCESS ? new Preprocessor(parsePreprocessSpec(config.PREPROCESS)) : undefined;
  if (preprocess && preprocess.outputFeatures !== model.featureCount)
    throw new Error(
      `PREPROCESS makes ${preprocess.outputFeatures} features but the model ${config.MODEL_PATH} takes ${model.featureCount}`,
    );
  const app = createFastify(config);
  await app.register(tierApp, {
    service,
    replicaId: replicaIdFor(config),
    model,
    preprocess,
    maxBatch: config.MAX_BATCH,
    shedding: sheddingFrom(config),
    requestMetrics: config.REQUEST_METRICS === 'on',
    metricsListen: metricsListenFor(config),
  });
  const address = await listenUntilSignalled(app, config);
  app.log.info({ address, model: model.version }, `${service} ready`);
}
