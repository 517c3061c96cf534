import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ResultsFile } from '../results/index.js';
import { readResults } from '../results/index.js';

/**
 * One side of a comparison: a single run, or several (a `bench --repeat` set, or a
 * comma-separated list of result directories) whose run-to-run spread the comparison then
 * resamples as well.
 */
export interface Side {
  /** What the user named: a directory, a repeat set, a list. */
  name: string;
  dirs: string[];
  runs: ResultsFile[];
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * `results/<id>` with results.json: one run. `results/<id>` without one but with
 * `results/<id>.repeat.json` beside it (or that file named directly): the repeats it lists.
 * `dirA,dirB,…`: those runs.
 */
export async function resolveSide(arg: string): Promise<Side> {
  const parts = arg.split(',').filter(Boolean);
  if (parts.length > 1) {
    const dirs = parts.map((p) => resolve(p));
    return { name: arg, dirs, runs: await Promise.all(dirs.map(readResults)) };
  }
  const path = resolve(arg);
  if (await exists(join(path, 'results.json')))
    return { name: basename(path), dirs: [path], runs: [await readResults(path)] };
  const repeatFile = path.endsWith('.repeat.json') ? path : `${path}.repeat.json`;
  if (await exists(repeatFile)) {
    let ids: unknown;
    try {
      ids = (JSON.parse(await readFile(repeatFile, 'utf8')) as { runIds?: unknown }).runIds;
    } catch (err) {
      throw new Error(`${repeatFile} is not valid JSON: ${(err as Error).message}`);
    }
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      !ids.every((x) => typeof x === 'string' && /^[A-Za-z0-9._-]+$/.test(x))
    )
      throw new Error(`${repeatFile} lists no run ids (runIds)`);
    const dirs = (ids as string[]).map((id) => join(dirname(repeatFile), id));
    return { name: basename(repeatFile, '.repeat.json'), dirs, runs: await Promise.all(dirs.map(readResults)) };
  }
  // Neither: let the reader say what is missing.
  return { name: basename(path), dirs: [path], runs: [await readResults(path)] };
}
