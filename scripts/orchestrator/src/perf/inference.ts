import { DEFAULT_MODEL_PATH, LinearModel, loadModel, type Model, train } from '@mlbench/model';
import { modelServiceApp } from '@mlbench/serving';
import Fastify from 'fastify';
import { makeBodies } from '../driver/payload.js';
import { round3 } from '../stats/round.js';
import type { PerfResults } from './types.js';

/** Time per row of `fn` over enough repetitions to dwarf the timer, µs. */
function usPerRow(rows: number, fn: () => void, minMs = 300): number {
  fn();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    fn();
    reps++;
  }
  return ((performance.now() - t0) * 1000) / (reps * rows);
}

async function routeUsPerRow(model: Model, batch: number, minMs = 400): Promise<number> {
  const app = Fastify({ logger: false });
  await app.register(modelServiceApp, { service: 'perf', replicaId: 'perf', model, maxBatch: 1000 });
  await app.ready();
  const bodies = makeBodies({ features: model.featureCount, batchSize: batch, seed: 7 }, 8);
  const inject = (i: number) =>
    app.inject({
      method: 'POST',
      url: bodies.path,
      headers: { 'content-type': 'application/json' },
      payload: bodies.bodies[i % bodies.bodies.length]!,
    });
  for (let i = 0; i < 200; i++) await inject(i);
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    const res = await inject(reps);
    if (res.statusCode !== 200) throw new Error(`route answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
    reps++;
  }
  const us = ((performance.now() - t0) * 1000) / (reps * batch);
  await app.close();
  return us;
}

/** 5: inference per row, single vs batch of 64, model only and through the route (in-process). */
export async function measureInference(): Promise<PerfResults['inference']> {
  const out: PerfResults['inference'] = [];
  for (const features of [8, 64, 512]) {
    const model =
      features === 8 ? await loadModel(DEFAULT_MODEL_PATH) : new LinearModel(train({ features, trainer: 'cgls' }));
    const rows = makeBodies({ features, batchSize: 64, seed: 3 }, 1).bodies.map(
      (b) => (JSON.parse(b.toString()) as { instances: number[][] }).instances,
    )[0]!;
    out.push({
      features,
      singleUsPerRow: round3(usPerRow(1, () => model.predict(rows[0]!))),
      batchUsPerRow: round3(usPerRow(64, () => model.predictBatch(rows))),
      routeSingleUsPerRow: round3(await routeUsPerRow(model, 1)),
      routeBatchUsPerRow: round3(await routeUsPerRow(model, 64)),
    });
  }
  return out;
}
