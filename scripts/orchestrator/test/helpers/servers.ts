import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment } from '../../src/backends/types.js';
import { ManagedProcess } from '../../src/sys/child.js';
import { freePort } from '../../src/sys/ports.js';
import { sampleProcess } from '../../src/sys/procfs.js';
import { waitReady } from '../../src/sys/ready.js';
import { CLI, FIXTURES, ROOT } from './paths.js';

const FIXTURE = join(FIXTURES, 'service-time-server.mjs');

export { CLI, ROOT };

/** A real HTTP server with a known per-request CPU cost, as a child process. */
export async function startFixtureServer(serviceTimeMs: number, cpus?: string) {
  const port = await freePort();
  const proc = new ManagedProcess(
    {
      name: 'fixture',
      command: process.execPath,
      args: [FIXTURE],
      env: { PATH: process.env.PATH, PORT: String(port), SERVICE_TIME_MS: String(serviceTimeMs) },
      cpus,
    },
    cpus ? '/usr/bin/taskset' : undefined,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, url, 10_000);
  const deployment: Deployment = {
    topology: 'monolith',
    backend: 'process',
    replicas: 1,
    gateways: 0,
    entryUrls: [url],
    components: [{ name: 'fixture-1', service: 'monolith', url, pid: proc.pid }],
    hops: 1,
    entrySpreading: 'one fixture server',
    sampleResources: async () => {
      const s = sampleProcess(proc.pid);
      return new Map(s ? [['fixture-1', s]] : []);
    },
    stop: () => proc.stop(),
  };
  return { proc, url, deployment };
}

/** PIDs of live processes whose environment carries MLBENCH_RUN_ID=runId. */
export function processesOfRun(runId: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && env.includes(`MLBENCH_RUN_ID=${runId}`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** `mlbench ARGS` as a child process, once its stderr says it deployed (or 30 s passed). */
export async function spawnCliUntilDeployed(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A bound, not a wait: it returns as soon as the deployment is up (5 processes and a warm-up;
  // under a loaded CI phase that took over 30 s once).
  const deadline = Date.now() + 120_000;
  while (!/deployed/.test(stderr) && Date.now() < deadline) await sleep(100);
  return { child, exited, stderr: () => stderr };
}
