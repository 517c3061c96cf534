import { stat } from 'node:fs/promises';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';

/** The default container limit (.env SERVICE_MEM_LIMIT): enough for Node and a small model. */
export const BASE_MEM_LIMIT_MB = 256;

/**
 * A model-serving container's memory limit for a model of this size: its parameters are
 * resident once loaded, on top of what an idle replica holds (about 60–90 MB RSS here, see
 * make perf), and the load reads the file into one buffer before the views are made. So:
 * 1.25 × the model + 192 MB, rounded up to 64 MB, never below the 256 MB default. A 512 MB
 * table gets 896 MB where the default would OOM-kill it while loading.
 */
export function memLimitMbFor(modelBytes: number): number {
  const mb = (1.25 * modelBytes) / 2 ** 20 + 192;
  return Math.max(BASE_MEM_LIMIT_MB, Math.ceil(mb / 64) * 64);
}

/** What Compose needs to serve a model: the limit always; a bind mount unless it is the image's own. */
export async function modelContainerEnv(
  modelPath: string | undefined,
): Promise<{ env: Record<string, string>; mount: boolean }> {
  const path = modelPath ?? DEFAULT_MODEL_PATH;
  const { size } = await stat(path);
  const env = { MODEL_MEM_LIMIT: `${memLimitMbFor(size)}m` };
  if (path === DEFAULT_MODEL_PATH) return { env, mount: false };
  return { env: { ...env, MODEL_FILE: path }, mount: true };
}
