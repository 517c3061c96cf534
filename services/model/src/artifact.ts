import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export const ARTIFACT_FORMAT = 'mlbench-linear-model';
export const ARTIFACT_FORMAT_VERSION = 1;

export interface FitMetrics {
  r2: number;
  rmse: number;
  samples: number;
}

export interface ModelArtifact {
  format: typeof ARTIFACT_FORMAT;
  formatVersion: typeof ARTIFACT_FORMAT_VERSION;
  name: string;
  version: string;
  createdAt: string;
  featureNames: string[];
  weights: number[];
  intercept: number;
  trainer: string;
  training: { seed: number; samples: number; holdout: number; noise: number; dataset: string };
  metrics: { train: FitMetrics; holdout: FitMetrics };
  /** sha256 over the parameters, so a hand-edited or bit-flipped file is caught at load. */
  checksum: string;
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

export function parametersChecksum(a: Pick<ModelArtifact, 'featureNames' | 'weights' | 'intercept'>): string {
  const canonical = JSON.stringify({ featureNames: a.featureNames, weights: a.weights, intercept: a.intercept });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Validate an already-parsed artifact; every failure names the field at fault. */
export function validateArtifact(raw: unknown, source = 'model'): ModelArtifact {
  const fail = (why: string): never => {
    throw new ModelLoadError(`${source}: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not a JSON object');
  const a = raw as Record<string, unknown>;
  if (a.format !== ARTIFACT_FORMAT) fail(`format is ${JSON.stringify(a.format)}, expected "${ARTIFACT_FORMAT}"`);
  if (a.formatVersion !== ARTIFACT_FORMAT_VERSION)
    fail(`formatVersion ${JSON.stringify(a.formatVersion)} is not supported (expected ${ARTIFACT_FORMAT_VERSION})`);
  for (const key of ['name', 'version', 'createdAt', 'trainer', 'checksum'] as const) {
    if (typeof a[key] !== 'string' || (a[key] as string).length === 0) fail(`"${key}" must be a non-empty string`);
  }
  const names = a.featureNames;
  const weights = a.weights;
  if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string'))
    fail('"featureNames" must be a non-empty array of strings');
  if (!Array.isArray(weights) || !weights.every(isFiniteNumber)) fail('"weights" must be an array of finite numbers');
  if ((weights as unknown[]).length !== (names as unknown[]).length)
    fail(`mismatched: ${(weights as unknown[]).length} weights for ${(names as unknown[]).length} features`);
  if (!isFiniteNumber(a.intercept)) fail('"intercept" must be a finite number');
  const artifact = raw as ModelArtifact;
  const expected = parametersChecksum(artifact);
  if (artifact.checksum !== expected) fail('checksum does not match the parameters (file corrupt or edited)');
  return artifact;
}

export function parseArtifact(text: string, source = 'model'): ModelArtifact {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${source}: not valid JSON (truncated or corrupt?): ${(err as Error).message}`);
  }
  return validateArtifact(raw, source);
}

export async function readArtifact(path: string): Promise<ModelArtifact> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelLoadError(`${path}: cannot read model file (${code ?? (err as Error).message})`);
  }
  return parseArtifact(text, path);
}

/** Where `make build` writes the default model; services use it when MODEL_PATH is unset. */
export const DEFAULT_MODEL_PATH = new URL('../artifacts/default.json', import.meta.url).pathname;
