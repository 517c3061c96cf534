import { gaussian, mulberry32 } from '@mlbench/model/random';

export interface PayloadSpec {
  features: number;
  batchSize: number;
  seed: number;
}

/** Distinct request bodies (a small rotating set, so no server-side cache can help). */
export function makeBodies(spec: PayloadSpec, count = 64): { path: string; bodies: Buffer[] } {
  const draw = gaussian(mulberry32(spec.seed));
  const row = () => Array.from({ length: spec.features }, () => Math.round(draw() * 10_000) / 10_000);
  const bodies = Array.from({ length: count }, () =>
    Buffer.from(
      JSON.stringify(
        spec.batchSize === 1 ? { features: row() } : { instances: Array.from({ length: spec.batchSize }, row) },
      ),
    ),
  );
  return { path: spec.batchSize === 1 ? '/predict' : '/predict/batch', bodies };
}
