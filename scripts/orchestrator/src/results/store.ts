import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import { Value } from '@sinclair/typebox/value';
import { type ResultsFile, ResultsFileSchema, SCHEMA_VERSION } from './schema.js';

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Create the run's directory; an existing one is never reused or overwritten. */
export async function createRunDir(outDir: string, runId: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const dir = join(outDir, runId);
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(`results directory ${dir} already exists; refusing to overwrite it`);
    throw err;
  }
  return dir;
}

export async function writeResults(dir: string, results: ResultsFile): Promise<void> {
  await writeFileAtomic(join(dir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
}

export async function readResults(dir: string): Promise<ResultsFile> {
  const path = join(dir, 'results.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return checkResults(data, path);
}

/**
 * A parsed results.json, checked against the schema; the error names the first field that
 * does not match. Files written before a field was renamed are read under the new name.
 */
export function checkResults(data: unknown, path = 'results.json'): ResultsFile {
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== SCHEMA_VERSION)
    throw new Error(`${path} has schemaVersion ${String(version)}; this mlbench reads ${SCHEMA_VERSION}`);
  for (const run of ((data as { runs?: unknown }).runs as Record<string, any>[] | undefined) ?? []) {
    if (!run || typeof run !== 'object') continue;
    if ('driverSaturated' in run && !('driverLate' in run)) {
      run.driverLate = run.driverSaturated;
      delete run.driverSaturated;
    }
    // Before "failed" was recorded: errors + dropped over the arrivals that were scheduled.
    if (!('failed' in run) && typeof run.errors?.count === 'number' && typeof run.dropped === 'number') {
      const count = run.errors.count + run.dropped;
      const scheduled = (run.requests ?? 0) + run.dropped;
      run.failed = { count, rate: scheduled ? Math.round((count / scheduled) * 1e6) / 1e6 : 0 };
    }
  }
  for (const c of ((data as { capacity?: unknown }).capacity as Record<string, any>[] | undefined) ?? [])
    if (c && typeof c === 'object' && !('limitedBy' in c))
      c.limitedBy = c.failedAtRps === null ? 'search-range' : 'slo';
  const first = Value.Errors(ResultsFileSchema, data).First();
  if (first) {
    const field = first.path.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
    const got = first.value === undefined ? 'missing' : JSON.stringify(first.value)?.slice(0, 60);
    throw new Error(`${path} does not match the results schema at ${field}: ${first.message} (got ${got})`);
  }
  return data as ResultsFile;
}

/** results/perf/<id>.json and .md, written atomically; an existing id is an error, never overwritten. */
export async function writePerf(outDir: string, results: { runId: string }, markdown: string): Promise<string> {
  const dir = join(outDir, 'perf');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${results.runId}.json`);
  const exists = await readFile(file).then(
    () => true,
    () => false,
  );
  if (exists) throw new Error(`${file} exists; perf results are never overwritten`);
  await writeFileAtomic(file, `${JSON.stringify(results, null, 2)}\n`);
  await writeFileAtomic(join(dir, `${results.runId}.md`), markdown);
  await writeFileAtomic(join(dir, 'latest.md'), markdown);
  return file;
}
