import { access } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import type { ModelFamily } from './model.js';
import { type Trainer, train } from './train.js';
import { type RandomFeaturesTrainOptions, trainRandomFeatures } from './train-random-features.js';

export interface TrainToFileOptions extends Omit<RandomFeaturesTrainOptions, 'features'> {
  features: number;
  out: string;
  family?: ModelFamily;
  trainer?: Trainer | 'auto';
  /** Leave an existing file alone and succeed. */
  ifMissing?: boolean;
  /** Replace an existing file (otherwise an existing file is an error). */
  force?: boolean;
}

/** Train and write an artifact atomically; returns a one-line description of what happened. */
export async function trainToFile(o: TrainToFileOptions): Promise<string> {
  const exists = await access(o.out).then(
    () => true,
    () => false,
  );
  if (exists && o.ifMissing) return `${o.out} exists; kept`;
  if (exists && !o.force) throw new Error(`${o.out} exists; pass --force to replace it`);
  const t0 = performance.now();
  const took = () => `in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  if ((o.family ?? 'linear') === 'random-features') {
    const m = trainRandomFeatures(o);
    await writeFileAtomic(o.out, m.parts);
    const h = m.metrics.holdout;
    return (
      `wrote ${o.out}: random-features ${m.version} (width ${m.params.width}, depth ${m.params.depth}, ` +
      `${m.params.categories} categories × ${m.params.embedDim}; ${(m.parameterBytes / 2 ** 20).toFixed(1)} MB of parameters) ` +
      `hold-out R²=${h.r2.toFixed(4)} RMSE=${h.rmse.toFixed(4)} ${took()}`
    );
  }
  if (o.size || o.width || o.depth || o.categories || o.memoryMb)
    throw new Error('--size, --width, --depth, --categories and --memory-mb are knobs of --family random-features');
  const artifact = train({ features: o.features, seed: o.seed, samples: o.samples, trainer: o.trainer });
  await writeFileAtomic(o.out, `${JSON.stringify(artifact, null, 2)}\n`);
  const m = artifact.metrics.holdout;
  return (
    `wrote ${o.out}: ${artifact.name}@${artifact.version} (${artifact.trainer}, ${artifact.featureNames.length} features) ` +
    `hold-out R²=${m.r2.toFixed(4)} RMSE=${m.rmse.toFixed(4)} ${took()}`
  );
}
