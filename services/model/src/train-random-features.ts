import type { FitMetrics } from './artifact.js';
import { ridgeCgls } from './least-squares.js';
import { gaussian, mulberry32 } from './random.js';
import {
  categoryOf,
  KNOB_LIMITS,
  RANDOM_FEATURES,
  type RandomFeaturesParams,
  RandomLayers,
} from './random-features.js';
import { encodeTensorArtifact } from './tensor-artifact.js';

/**
 * Presets of the compute knob, measured on this repository's 2-vCPU host (make bench-sweep):
 * from about a microsecond (xs) to about 20 ms (xl) per prediction. Multiply-adds per
 * prediction: width·inputs + (depth−1)·width².
 */
export const RANDOM_FEATURES_SIZES: Record<string, { width: number; depth: number }> = {
  xs: { width: 16, depth: 1 },
  s: { width: 128, depth: 2 },
  m: { width: 256, depth: 4 },
  l: { width: 512, depth: 6 },
  xl: { width: 1024, depth: 12 },
};
/** The memory knob's table width: --memory-mb N holds N MB of float32 rows of this many values. */
export const EMBED_DIM_DEFAULT = 64;

export interface RandomFeaturesTrainOptions {
  features?: number;
  /** A preset (xs … xl) for width and depth; explicit width/depth override it. */
  size?: string;
  width?: number;
  depth?: number;
  /** Embedding-table rows (0: no table) and their width. */
  categories?: number;
  embedDim?: number;
  /** Shorthand for the table: categories chosen so that it holds about this many MB. */
  memoryMb?: number;
  seed?: number;
  samples?: number;
  noise?: number;
  name?: string;
}

export interface TrainedRandomFeatures {
  parts: Uint8Array[];
  size: string;
  version: string;
  params: RandomFeaturesParams;
  metrics: { train: FitMetrics; holdout: FitMetrics };
  parameterBytes: number;
}

function gaussianTensor(n: number, scale: number, draw: () => number): Float32Array {
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) t[i] = draw() * scale;
  return t;
}

/** Per-category seeded draws, so that a category's true vector is known without storing it. */
function categoryDraw(seed: number, c: number): () => number {
  return gaussian(mulberry32((Math.imul(c + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca6b)) >>> 0));
}

function resolveKnobs(o: RandomFeaturesTrainOptions) {
  const preset = o.size ? RANDOM_FEATURES_SIZES[o.size] : undefined;
  if (o.size && !preset)
    throw new RangeError(`size must be one of ${Object.keys(RANDOM_FEATURES_SIZES).join(', ')}, got "${o.size}"`);
  const width = o.width ?? preset?.width ?? RANDOM_FEATURES_SIZES.s!.width;
  const depth = o.depth ?? preset?.depth ?? RANDOM_FEATURES_SIZES.s!.depth;
  const embedDim = o.embedDim ?? EMBED_DIM_DEFAULT;
  const categories = o.categories ?? (o.memoryMb ? Math.round((o.memoryMb * 2 ** 20) / (embedDim * 4)) : 0);
  const knobs = { width, depth, categories, embedDim };
  for (const [k, [lo, hi]] of Object.entries(KNOB_LIMITS)) {
    const v = knobs[k as keyof typeof knobs];
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new RangeError(`${k} must be an integer from ${lo} to ${hi}, got ${v}`);
  }
  const explicit = o.width !== undefined || o.depth !== undefined || !o.size;
  const compute = explicit ? `w${width}d${depth}` : o.size!;
  const table = categories > 0 ? `+${Math.round((categories * embedDim * 4) / 2 ** 20)}MB` : '';
  return { ...knobs, size: `${compute}${table}` };
}

/**
 * Train a random-features model on seeded synthetic data with known nonlinear structure:
 *   y = Σ aᵢ·sin(1.5·xᵢ) + Σ bᵢ·xᵢ·xᵢ₊₁ (+ β·t_c for the input's category c) + noise.
 * The table's row for category c is fitted as the mean of three noisy observations of t_c
 * (its least-squares estimate); the readout over [hidden layer; table row] by ridge CGLS.
 */
export function trainRandomFeatures(o: RandomFeaturesTrainOptions = {}): TrainedRandomFeatures {
  const d = o.features ?? 8;
  if (!Number.isInteger(d) || d < 1 || d > 4096)
    throw new RangeError(`features must be an integer from 1 to 4096, got ${d}`);
  const k = resolveKnobs(o);
  const seed = o.seed ?? 42;
  const noise = o.noise ?? 0.1;
  const dim = k.width + (k.categories > 0 ? k.embedDim : 0);
  const samples = o.samples ?? Math.min(4000, Math.max(1500, Math.round(1.25 * dim + 500)));
  const trainRows = Math.floor(samples * 0.8);

  const draw = gaussian(mulberry32(seed));
  const a = Array.from({ length: d }, () => draw());
  const b = Array.from({ length: d }, () => draw() * 0.5);
  const beta = Array.from({ length: k.embedDim }, () => draw() / Math.sqrt(k.embedDim));

  // Seeded random layers scaled to their fan-in; the deeper (residual) ones with gain 0.5.
  // Hold-out R² at l (512×6) by gain 0.5 / 1 / 1.5 (plain, not residual): 0.885 / 0.77 / 0.68.
  const ws: Float32Array[] = [];
  const bs: Float32Array[] = [];
  const layerDraw = gaussian(mulberry32((seed ^ 0x5bd1e995) >>> 0));
  for (let l = 0; l < k.depth; l++) {
    const fanIn = l === 0 ? d : k.width;
    ws.push(gaussianTensor(k.width * fanIn, (l === 0 ? 1 : 0.5) / Math.sqrt(fanIn), layerDraw));
    bs.push(gaussianTensor(k.width, 0.3, layerDraw));
  }
  const layers = new RandomLayers(d, k.width, ws, bs);

  // The table, one row per category, each fitted from its own three observations.
  const embedding = new Float32Array(k.categories * k.embedDim);
  const truth = new Float64Array(k.embedDim);
  const trueEffect = (c: number): number => {
    const g = categoryDraw(seed, c);
    let s = 0;
    for (let j = 0; j < k.embedDim; j++) s += beta[j]! * g();
    return s;
  };
  for (let c = 0; c < k.categories; c++) {
    const g = categoryDraw(seed, c);
    for (let j = 0; j < k.embedDim; j++) truth[j] = g();
    const row = c * k.embedDim;
    for (let j = 0; j < k.embedDim; j++) {
      const obs = truth[j]! * 3 + 0.5 * (g() + g() + g());
      embedding[row + j] = obs / 3;
    }
  }

  // Rows: inputs, targets, and the design matrix the readout is fitted on.
  const x = new Float64Array(d);
  const Z = new Float64Array(samples * dim);
  const y = new Float64Array(samples);
  for (let r = 0; r < samples; r++) {
    let target = 0;
    for (let i = 0; i < d; i++) x[i] = draw();
    for (let i = 0; i < d; i++) target += a[i]! * Math.sin(1.5 * x[i]!) + b[i]! * x[i]! * x[(i + 1) % d]!;
    const h = layers.hidden(x);
    Z.set(h, r * dim);
    if (k.categories > 0) {
      const c = categoryOf(x, k.categories);
      target += trueEffect(c);
      Z.set(embedding.subarray(c * k.embedDim, (c + 1) * k.embedDim), r * dim + k.width);
    }
    y[r] = target + noise * draw();
  }
  const fit = ridgeCgls(Z, y, trainRows, dim, 1e-3 * trainRows);

  const metricsOf = (from: number, to: number): FitMetrics => {
    let mean = 0;
    for (let r = from; r < to; r++) mean += y[r]!;
    mean /= to - from;
    let ssRes = 0;
    let ssTot = 0;
    for (let r = from; r < to; r++) {
      let p = fit.intercept;
      for (let f = 0; f < dim; f++) p += fit.weights[f]! * Z[r * dim + f]!;
      ssRes += (y[r]! - p) ** 2;
      ssTot += (y[r]! - mean) ** 2;
    }
    return { r2: 1 - ssRes / ssTot, rmse: Math.sqrt(ssRes / (to - from)), samples: to - from };
  };
  const metrics = { train: metricsOf(0, trainRows), holdout: metricsOf(trainRows, samples) };

  const params: RandomFeaturesParams = {
    width: k.width,
    depth: k.depth,
    categories: k.categories,
    embedDim: k.embedDim,
    intercept: fit.intercept,
    activation: 'tanh',
  };
  const tensors: [string, Float32Array, number[]][] = [];
  for (let l = 0; l < k.depth; l++) {
    tensors.push([`layer${l}.w`, ws[l]!, [k.width, l === 0 ? d : k.width]]);
    tensors.push([`layer${l}.b`, bs[l]!, [k.width]]);
  }
  tensors.push(['readout', Float32Array.from(fit.weights.subarray(0, k.width)), [k.width]]);
  if (k.categories > 0) {
    tensors.push(['embedding', embedding, [k.categories, k.embedDim]]);
    tensors.push(['embedding.readout', Float32Array.from(fit.weights.subarray(k.width)), [k.embedDim]]);
  }
  const version = `${k.size}-f${d}-s${seed}`;
  const parts = encodeTensorArtifact(
    {
      family: RANDOM_FEATURES,
      name: o.name ?? 'synthetic-random-features',
      version,
      createdAt: new Date().toISOString(),
      size: k.size,
      featureCount: d,
      params: params as unknown as Record<string, unknown>,
      trainer: 'seeded random tanh layers; readout by ridge CGLS; table rows by per-category mean',
      training: { seed, samples, holdout: samples - trainRows, noise, dataset: 'synthetic-sin-interaction-category' },
      metrics,
    },
    tensors,
  );
  const parameterBytes = tensors.reduce((n, [, t]) => n + t.byteLength, 0);
  return { parts, size: k.size, version, params, metrics, parameterBytes };
}
