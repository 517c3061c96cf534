import type { ModelArtifact } from './artifact.js';
import type { Model } from './model.js';

/** The deployed form of a linear artifact: weights in a typed array, no per-call allocation. */
export class LinearModel implements Model {
  readonly family = 'linear' as const;
  readonly featureCount: number;
  readonly size: string;
  readonly parameterBytes: number;
  readonly name: string;
  readonly version: string;
  private readonly w: Float64Array;
  private readonly b: number;

  constructor(readonly artifact: ModelArtifact) {
    this.w = Float64Array.from(artifact.weights);
    this.b = artifact.intercept;
    this.featureCount = this.w.length;
    this.name = artifact.name;
    this.version = artifact.version;
    this.size = `f${this.featureCount}`;
    this.parameterBytes = this.w.byteLength + 8;
  }

  /** Caller guarantees length === featureCount (the HTTP schema does). */
  predict(features: ArrayLike<number>): number {
    const w = this.w;
    let acc = this.b;
    for (let i = 0; i < w.length; i++) acc += w[i]! * features[i]!;
    return acc;
  }

  predictBatch(rows: ArrayLike<ArrayLike<number>>): number[] {
    const out = new Array<number>(rows.length);
    for (let r = 0; r < rows.length; r++) out[r] = this.predict(rows[r]!);
    return out;
  }
}
