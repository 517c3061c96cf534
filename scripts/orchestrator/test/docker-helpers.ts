import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { request } from 'undici';

/** Shared by the tests that need a real Docker engine (docker.test.ts, swarm.test.ts). */
const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const script = (name: string) => join(ROOT, 'scripts/docker', name);
export const docker = new Docker();
const PREDICT_BODY = JSON.stringify({ features: [1, 2, 3, 4, 5, 6, 7, 8] });

/** undefined when an engine answers (started or installed if need be), else why not. */
export async function engineAvailable(): Promise<string | undefined> {
  try {
    await run('bash', [script('ensure-engine.sh')], { timeout: 300_000 });
    await docker.ping();
    return undefined;
  } catch (err) {
    return `no Docker engine: ${(err as { stderr?: string }).stderr?.trim().split('\n').pop() ?? (err as Error).message}`;
  }
}

/** x-served-by of n sequential predictions that succeeded, with counts. */
export async function servedBy(url: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = await request(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: PREDICT_BODY,
      headersTimeout: 10_000,
    });
    await res.body.json();
    const id = String(res.headers['x-served-by']);
    if (res.statusCode === 200) seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}
