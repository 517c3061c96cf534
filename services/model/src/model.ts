/** Model families this library trains and serves. */
export type ModelFamily = 'linear' | 'random-features';

/** What every served model offers, whatever its family (the HTTP routes need nothing more). */
export interface Model {
  readonly family: ModelFamily;
  readonly name: string;
  readonly version: string;
  /** Inputs per prediction: the request's feature vector has exactly this length. */
  readonly featureCount: number;
  /** Its cost knobs in one word or a preset name (`f8`, `m`, `width=512,depth=4`). */
  readonly size: string;
  /** Bytes of parameters held in memory (weights, embedding tables). */
  readonly parameterBytes: number;
  /** Caller guarantees length === featureCount (the HTTP schema does). */
  predict(features: ArrayLike<number>): number;
  predictBatch(rows: ArrayLike<ArrayLike<number>>): number[];
}

/**
 * Time predictions on a fixed input for at least `minMs`: µs per prediction on this
 * process, as /readyz reports it and the sweep seeds its capacity search with. The input
 * is a seeded-looking spread, not zeros, so that no family takes a shortcut.
 */
export function measureInferenceUs(model: Model, minMs = 100, maxCalls = 1_000_000): number {
  const x = Float64Array.from({ length: model.featureCount }, (_, i) => Math.sin(i * 12.9898 + 0.5) * 1.5);
  let sink = 0;
  for (let i = 0; i < 3; i++) sink += model.predict(x);
  const t0 = performance.now();
  let calls = 0;
  while (calls < maxCalls && (calls < 5 || performance.now() - t0 < minMs)) {
    x[0] = calls % 7;
    sink += model.predict(x);
    calls++;
  }
  const us = ((performance.now() - t0) * 1000) / calls;
  // Keep the predictions observable so that the loop cannot be optimised away.
  if (Number.isNaN(sink) && calls < 0) throw new Error('unreachable');
  return us;
}
