/**
 * The API tier's work before the model (see README): validate, standardize, expand. One
 * instance per process; `apply` writes into a buffer it reuses, so a request allocates one
 * array (the output it returns) and nothing else.
 */
export const PREPROCESS_SYNTAX = 'raw=R[,maxabs=X][,standardize][,expand=none|pairwise|projection:N][,seed=S]';

export interface PreprocessSpec {
  rawFeatures: number;
  maxAbs: number;
  standardize: boolean;
  expand: { kind: 'none' } | { kind: 'pairwise' } | { kind: 'projection'; features: number };
  seed: number;
}

/** A client's input the API tier refuses: its 400's message and code. */
export class PreprocessError extends Error {
  override name = 'PreprocessError';
  constructor(
    message: string,
    readonly code = 'PREPROCESS_OUT_OF_RANGE',
  ) {
    super(message);
  }
}

const MAX_RAW = 4096;
const MAX_OUT = 65_536;

/** Parse `PREPROCESS`; an error names the part at fault. */
export function parsePreprocessSpec(text: string): PreprocessSpec {
  const fail = (why: string): never => {
    throw new Error(`PREPROCESS: ${why} (syntax: ${PREPROCESS_SYNTAX})`);
  };
  const spec: Partial<PreprocessSpec> = { maxAbs: 1e6, standardize: false, expand: { kind: 'none' }, seed: 1 };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, value] = part.split('=', 2) as [string, string | undefined];
    const int = (lo: number, hi: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < lo || n > hi)
        fail(`${key} must be an integer from ${lo} to ${hi}, got "${value}"`);
      return n;
    };
    if (key === 'raw') spec.rawFeatures = int(1, MAX_RAW);
    else if (key === 'seed') spec.seed = int(0, 2 ** 31);
    else if (key === 'maxabs') {
      const n = Number(value);
      if (!(n > 0) || !Number.isFinite(n)) fail(`maxabs must be a positive number, got "${value}"`);
      spec.maxAbs = n;
    } else if (key === 'standardize' && value === undefined) spec.standardize = true;
    else if (key === 'expand') {
      const [kind, n] = (value ?? '').split(':');
      if (kind === 'none' || kind === 'pairwise') spec.expand = { kind };
      else if (kind === 'projection') {
        const features = Number(n);
        if (!Number.isInteger(features) || features < 1 || features > MAX_OUT)
          fail(`expand=projection:N needs N from 1 to ${MAX_OUT}, got "${n}"`);
        spec.expand = { kind, features };
      } else fail(`expand must be none, pairwise or projection:N, got "${value}"`);
    } else fail(`unknown part "${part}"`);
  }
  if (spec.rawFeatures === undefined) fail('raw=R is required');
  return spec as PreprocessSpec;
}

/**
 * Seeded uniform draws (mulberry32, as @mlbench/model/random): the same statistics and
 * projection in every process. Copied, not imported: the gateway image carries no model package.
 */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Preprocessor {
  readonly rawFeatures: number;
  readonly outputFeatures: number;
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private readonly projection: Float32Array | undefined;
  private readonly z: Float64Array;

  constructor(readonly spec: PreprocessSpec) {
    const R = spec.rawFeatures;
    this.rawFeatures = R;
    const draw = uniform(spec.seed);
    this.mean = new Float64Array(R);
    this.invStd = new Float64Array(R).fill(1);
    if (spec.standardize)
      for (let i = 0; i < R; i++) {
        this.mean[i] = (draw() - 0.5) * 0.2;
        this.invStd[i] = 1 / (0.8 + 0.4 * draw());
      }
    const e = spec.expand;
    this.outputFeatures = e.kind === 'none' ? R : e.kind === 'pairwise' ? R + (R * (R + 1)) / 2 : e.features;
    if (this.outputFeatures > MAX_OUT)
      throw new Error(`PREPROCESS: ${this.outputFeatures} output features is more than ${MAX_OUT}`);
    if (e.kind === 'projection') {
      const scale = Math.sqrt(3 / R);
      this.projection = Float32Array.from({ length: R * e.features }, () => (2 * draw() - 1) * scale);
    }
    this.z = new Float64Array(R);
  }

  /** The model's features for one raw input; throws PreprocessError on a bad one. */
  apply(raw: ArrayLike<number>, where = 'features'): number[] {
    const R = this.rawFeatures;
    if (raw.length !== R)
      throw new PreprocessError(`${where} has ${raw.length} values; this API takes ${R}`, 'PREPROCESS_WRONG_LENGTH');
    const z = this.z;
    for (let i = 0; i < R; i++) {
      const x = raw[i]!;
      if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > this.spec.maxAbs)
        throw new PreprocessError(`${where}[${i}] = ${x} is outside ±${this.spec.maxAbs}`);
      z[i] = (x - this.mean[i]!) * this.invStd[i]!;
    }
    const out = new Array<number>(this.outputFeatures);
    const e = this.spec.expand;
    if (e.kind === 'projection') {
      const w = this.projection!;
      for (let j = 0; j < e.features; j++) {
        let s = 0;
        const o = j * R;
        for (let i = 0; i < R; i++) s += w[o + i]! * z[i]!;
        out[j] = Math.tanh(s);
      }
      return out;
    }
    for (let i = 0; i < R; i++) out[i] = z[i]!;
    if (e.kind === 'pairwise') {
      let k = R;
      for (let i = 0; i < R; i++) for (let j = i; j < R; j++) out[k++] = z[i]! * z[j]!;
    }
    return out;
  }
}
