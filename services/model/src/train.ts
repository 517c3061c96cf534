import { MultivariateLinearRegression } from 'ml-regression';
import {
  ARTIFACT_FORMAT,
  ARTIFACT_FORMAT_VERSION,
  type FitMetrics,
  type ModelArtifact,
  parametersChecksum,
} from './artifact.js';
import { ridgeCgls } from './least-squares.js';
import { gaussian, mulberry32 } from './random.js';

export type Trainer = 'ml-regression' | 'cgls';

export interface TrainOptions {
  features: number;
  seed?: number;
  samples?: number;
  holdoutFraction?: number;
  noise?: number;
  trainer?: Trainer | 'auto';
  name?: string;
}

/** A synthetic data set with known generating coefficients, row-major in one typed array. */
export interface SyntheticData {
  features: number;
  rows: number;
  x: Float64Array;
  y: Float64Array;
  trueWeights: number[];
  trueIntercept: number;
}

export const MAX_FEATURES = 16_384;
/** Above this, ml-regression's normal-equation SVD (O(F³) in JS) takes minutes; CGLS takes seconds. */
export const ML_REGRESSION_MAX_FEATURES = 512;

export function defaultSamples(features: number): number {
  return Math.max(2_000, 2 * features + 500);
}

export function makeSyntheticData(features: number, rows: number, seed: number, noise: number): SyntheticData {
  const draw = gaussian(mulberry32(seed));
  const trueWeights = Array.from({ length: features }, () => Math.round(draw() * 1000) / 100);
  const trueIntercept = Math.round(draw() * 1000) / 100;
  const x = new Float64Array(rows * features);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = trueIntercept;
    const base = r * features;
    for (let f = 0; f < features; f++) {
      const v = draw();
      x[base + f] = v;
      acc += trueWeights[f]! * v;
    }
    y[r] = acc + noise * draw();
  }
  return { features, rows, x, y, trueWeights, trueIntercept };
}

function fitMetrics(data: SyntheticData, from: number, to: number, weights: number[], intercept: number): FitMetrics {
  const F = data.features;
  let mean = 0;
  for (let r = from; r < to; r++) mean += data.y[r]!;
  const n = to - from;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let r = from; r < to; r++) {
    let p = intercept;
    const base = r * F;
    for (let f = 0; f < F; f++) p += weights[f]! * data.x[base + f]!;
    const y = data.y[r]!;
    ssRes += (y - p) ** 2;
    ssTot += (y - mean) ** 2;
  }
  return { r2: 1 - ssRes / ssTot, rmse: Math.sqrt(ssRes / n), samples: n };
}

function trainMlRegression(data: SyntheticData, rows: number): { weights: number[]; intercept: number } {
  const F = data.features;
  const x: number[][] = [];
  const y: number[][] = [];
  for (let r = 0; r < rows; r++) {
    x.push(Array.from(data.x.subarray(r * F, (r + 1) * F)));
    y.push([data.y[r]!]);
  }
  const mlr = new MultivariateLinearRegression(x, y, { intercept: true, statistics: false });
  // ml-regression appends the intercept as the last row of its (F+1)×1 weight matrix.
  const w = mlr.weights.map((row) => row[0]!);
  return { weights: w.slice(0, F), intercept: w[F]! };
}

/** Least squares by CGLS (λ = 0): O(rows·F) per iteration, no F×F matrix. */
function trainCgls(data: SyntheticData, rows: number) {
  const fit = ridgeCgls(data.x, data.y, rows, data.features, 0, 500);
  return { weights: Array.from(fit.weights), intercept: fit.intercept };
}

export function chooseTrainer(features: number, requested: Trainer | 'auto' = 'auto'): Trainer {
  if (requested !== 'auto') return requested;
  return features <= ML_REGRESSION_MAX_FEATURES ? 'ml-regression' : 'cgls';
}

export function train(options: TrainOptions): ModelArtifact {
  const F = options.features;
  if (!Number.isInteger(F) || F < 1 || F > MAX_FEATURES)
    throw new RangeError(`features must be an integer from 1 to ${MAX_FEATURES}, got ${F}`);
  const seed = options.seed ?? 42;
  const samples = options.samples ?? defaultSamples(F);
  const holdoutFraction = options.holdoutFraction ?? 0.2;
  const noise = options.noise ?? 0.1;
  const trainRows = Math.floor(samples * (1 - holdoutFraction));
  if (trainRows <= F + 1)
    throw new RangeError(`samples (${samples}) too few: the training split needs more than ${F + 1} rows`);
  const trainer = chooseTrainer(F, options.trainer);
  const data = makeSyntheticData(F, samples, seed, noise);
  const fit = trainer === 'ml-regression' ? trainMlRegression(data, trainRows) : trainCgls(data, trainRows);
  const featureNames = Array.from({ length: F }, (_, i) => `x${i}`);
  const params = { featureNames, weights: fit.weights, intercept: fit.intercept };
  const checksum = parametersChecksum(params);
  return {
    format: ARTIFACT_FORMAT,
    formatVersion: ARTIFACT_FORMAT_VERSION,
    name: options.name ?? 'synthetic-linear',
    version: `f${F}-s${seed}-${checksum.slice(7, 15)}`,
    createdAt: new Date().toISOString(),
    ...params,
    trainer: trainer === 'ml-regression' ? 'ml-regression/MultivariateLinearRegression' : 'cgls',
    training: { seed, samples, holdout: samples - trainRows, noise, dataset: 'synthetic-gaussian' },
    metrics: {
      train: fitMetrics(data, 0, trainRows, fit.weights, fit.intercept),
      holdout: fitMetrics(data, trainRows, samples, fit.weights, fit.intercept),
    },
    checksum,
  };
}
