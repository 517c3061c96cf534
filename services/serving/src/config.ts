import { DEFAULT_MODEL_PATH } from '@mlbench/model/serve';
import { baseConfigProperties } from '@mlbench/runtime';
import { type Static, Type } from '@sinclair/typebox';

export const ModelServiceConfig = Type.Object({
  ...baseConfigProperties,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }),
  MODEL_PATH: Type.String({ minLength: 1, default: DEFAULT_MODEL_PATH }),
  MAX_BATCH: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
  /** API-tier preprocessing (@mlbench/preprocess syntax); read by the monolith only, off by default. */
  PREPROCESS: Type.Optional(Type.String({ minLength: 1 })),
});
export type ModelServiceConfig = Static<typeof ModelServiceConfig>;
