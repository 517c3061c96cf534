// Request bodies: the same seeded Gaussian rows as mlbench's built-in driver
// (mulberry32 + Box-Muller, rounded to 4 decimals), a small rotating set so no cache helps.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export interface Payload {
  path: string;
  bodies: string[];
}

export function makePayload(spec: { features?: number; batchSize?: number; seed?: number } = {}, count = 64): Payload {
  const features = spec.features ?? 8;
  const batch = spec.batchSize ?? 1;
  const draw = gaussian(mulberry32(spec.seed ?? 42));
  const row = () => Array.from({ length: features }, () => Math.round(draw() * 10_000) / 10_000);
  const bodies: string[] = [];
  for (let i = 0; i < count; i++)
    bodies.push(JSON.stringify(batch === 1 ? { features: row() } : { instances: Array.from({ length: batch }, row) }));
  return { path: batch === 1 ? '/predict' : '/predict/batch', bodies };
}
