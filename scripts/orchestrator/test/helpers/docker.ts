import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { Test } from 'tap';
import { request } from 'undici';
import { imageOf } from '../../src/backends/compose.js';
import { BENCH_PROJECT_PREFIX } from '../../src/backends/containers.js';
import type { ResultsFile } from '../../src/results/index.js';
import { CLI, ROOT } from './servers.js';

/** Shared by the tests that need a real Docker engine (docker.test.ts, swarm.test.ts). */
const run = promisify(execFile);

export { ROOT };
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

/** The three images, built here (OFFLINE=1) when missing: docker.test.ts builds them first in a full run. */
export async function ensureImages(): Promise<void> {
  const present = await Promise.all(
    ['monolith', 'prediction', 'gateway'].map((s) =>
      docker
        .getImage(imageOf(s))
        .inspect()
        .then(
          () => true,
          () => false,
        ),
    ),
  );
  if (present.includes(false))
    await run('bash', [script('images.sh')], { env: { ...process.env, OFFLINE: '1' }, timeout: 900_000 });
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

/**
 * `mlbench bench --backend B --topology both --replicas 2` (quick plan, no capacity search):
 * complete, valid, error-free, CPU and memory for every container, both replicas in x-served-by.
 */
export async function benchBothReplicas(t: Test, backend: 'docker' | 'swarm'): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), `mlbench-${backend}-`));
  const runId = `${backend}-${process.pid}`;
  const args = ['bench', '--backend', backend, '--preset', 'quick', '--topology', 'both', '--replicas', '2'];
  await run(process.execPath, [CLI, ...args, '--no-capacity', '--run-id', runId, '--out', out], {
    timeout: 600_000,
  }).catch((err) => {
    throw new Error(`bench failed: ${(err as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' | ')}`);
  });
  const results = JSON.parse(await readFile(join(out, runId, 'results.json'), 'utf8')) as ResultsFile;
  t.equal(results.status, 'complete');
  t.equal(results.config.backend, backend);
  for (const [topology, tier, others] of [
    ['monolith', 'monolith', []],
    ['microservices', 'prediction', ['gateway-1']],
  ] as const) {
    const r = results.runs.find((x) => x.topology === topology && x.phase === 'trial');
    if (!t.ok(r, `${topology} trial recorded`) || !r) continue;
    t.equal(r.backend, backend);
    t.ok(r.valid, `${topology} run valid: ${r.invalidReasons.join('; ')}`);
    t.equal(r.errors.count, 0, `${topology}: no errors ${JSON.stringify(r.errors)}`);
    for (const name of [`${tier}-1`, `${tier}-2`, ...others]) {
      const res = r.resources[name];
      t.ok(res && res.cpuSeconds > 0 && res.rssMaxMB > 10, `${topology}: ${name} CPU and memory sampled`, { res });
    }
    t.ok(
      (r.servedBy[`${tier}-1`] ?? 0) > 0 && (r.servedBy[`${tier}-2`] ?? 0) > 0,
      `${topology}: both replicas served`,
      {
        servedBy: r.servedBy,
      },
    );
    t.ok(Object.keys(r.hops).length > 0, `${topology}: per-hop server time scraped from the containers`);
  }
}

/**
 * Ctrl-C a bench once both topologies are up: `running(prefix)` counts what the run deployed
 * (3: monolith, gateway, prediction), `leftovers(prefix)` lists what is left afterwards.
 */
export async function interruptBench(
  t: Test,
  backend: 'docker' | 'swarm',
  running: (prefix: string) => Promise<number>,
  leftovers: (prefix: string) => Promise<unknown[]>,
): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), `mlbench-${backend}-sigint-`));
  const scenario = join(out, 'long.json');
  await writeFile(scenario, JSON.stringify({ executor: 'constant-arrival-rate', rate: 100, duration: '60s' }));
  const child = spawn(
    process.execPath,
    [CLI, 'bench', '--backend', backend, '--scenario', scenario, '--out', out, '--no-capacity'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 180_000;
  while (!/deployed/.test(stderr) && Date.now() < deadline) await sleep(200);
  t.match(stderr, /deployed/, 'both topologies came up');
  const mine = `${BENCH_PROJECT_PREFIX}${child.pid}-`;
  t.equal(await running(mine), 3, 'monolith, gateway and prediction are running');
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exits 130 after cleaning up', { stderr: stderr.slice(-1500) });
  t.same(await leftovers(mine), [], 'nothing of the run is left');
}
