import { ModelLoadError, readArtifact } from './artifact.js';
import type { Model } from './model.js';
import { LinearModel } from './predict.js';
import { RANDOM_FEATURES, RandomFeaturesModel } from './random-features.js';
import { isTensorArtifact, readTensorArtifact } from './tensor-artifact.js';

/** Load any family's artifact: binary tensor models by their magic, linear JSON otherwise. */
export async function loadModel(path: string): Promise<Model> {
  if (!(await isTensorArtifact(path))) return new LinearModel(await readArtifact(path));
  const a = await readTensorArtifact(path);
  if (a.header.family !== RANDOM_FEATURES)
    throw new ModelLoadError(`${path}: family ${JSON.stringify(a.header.family)} is not one this build serves`);
  try {
    return new RandomFeaturesModel(a);
  } catch (err) {
    throw new ModelLoadError(`${path}: ${(err as Error).message}`);
  }
}
