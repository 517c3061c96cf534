/**
 * Request and response JSON Schemas for the prediction API, sized to the model.
 * Used by the monolith and the prediction service (full checks) and by the gateway
 * (shape-only checks, as it does not know the model's feature count).
 */
export interface SchemaLimits {
  /** Exact feature count, or undefined to accept any count up to maxFeatures. */
  features?: number;
  maxFeatures: number;
  maxBatch: number;
}

function featureVector(limits: SchemaLimits) {
  return {
    type: 'array',
    items: { type: 'number' },
    minItems: limits.features ?? 1,
    maxItems: limits.features ?? limits.maxFeatures,
  } as const;
}

export function predictBodySchema(limits: SchemaLimits) {
  return {
    type: 'object',
    required: ['features'],
    additionalProperties: false,
    properties: { features: featureVector(limits) },
  } as const;
}

export function batchBodySchema(limits: SchemaLimits) {
  return {
    type: 'object',
    required: ['instances'],
    additionalProperties: false,
    properties: {
      instances: { type: 'array', minItems: 1, maxItems: limits.maxBatch, items: featureVector(limits) },
    },
  } as const;
}

const modelRef = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: { type: 'string' }, version: { type: 'string' } },
} as const;

export const predictResponseSchema = {
  type: 'object',
  required: ['prediction', 'model'],
  properties: { prediction: { type: 'number' }, model: modelRef },
} as const;

export const batchResponseSchema = {
  type: 'object',
  required: ['predictions', 'model'],
  properties: { predictions: { type: 'array', items: { type: 'number' } }, model: modelRef },
} as const;

export const errorResponseSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    code: { type: 'string' },
  },
} as const;
