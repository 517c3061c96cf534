import { access } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { type Trainer, train } from './train.js';

export interface TrainToFileOptions {
  features: number;
  out: string;
  seed?: number;
  samples?: number;
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
  const artifact = train({ features: o.features, seed: o.seed, samples: o.samples, trainer: o.trainer });
  await writeFileAtomic(o.out, `${JSON.stringify(artifact, null, 2)}\n`);
  const m = artifact.metrics.holdout;
  return (
    `wrote ${o.out}: ${artifact.name}@${artifact.version} (${artifact.trainer}, ${artifact.featureNames.length} features) ` +
    `hold-out R²=${m.r2.toFixed(4)} RMSE=${m.rmse.toFixed(4)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`
  );
}
