import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from '../results/index.js';
import { REPO_ROOT } from './repo.js';

const PACKAGES = [
  'fastify',
  '@fastify/http-proxy',
  '@fastify/reply-from',
  'undici',
  'prom-client',
  'ml-regression',
  'hdr-histogram-js',
  'echarts',
];

/** The version this package actually resolves (not whatever happens to be hoisted to the root). */
function version(pkg: string): string | undefined {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (meta.name === pkg) return meta.version;
      } catch {
        // keep walking up
      }
    }
  } catch {
    // not resolvable from here
  }
  return undefined;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** What every figure must name: the machine, the versions and the code. */
export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    logicalCpus: cpus.length,
    memoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    packages: Object.fromEntries(PACKAGES.map((p) => [p, version(p) ?? 'missing'])),
    gitCommit: gitCommit() ?? 'unknown',
  };
}

export interface Pinning {
  driverCpus?: string;
  serverCpus?: string;
  description: string;
}

/** Parse a kernel CPU list ("0-3,8,10-11"). */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b))) throw new Error(`bad CPU list "${text}"`);
    for (let c = a!; c <= (b ?? a!); c++) out.push(c);
  }
  return out;
}

/** Write CPUs as a kernel CPU list, ranges folded ([1,2,3,5] → "1-3,5"). */
export function formatCpuList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * The CPUs this process may run on (its affinity mask, as a cgroup cpuset or `taskset` set
 * it), not every CPU the machine has: pinning to one outside the mask fails.
 */
export function allowedCpus(): number[] {
  try {
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (list) return parseCpuList(list);
  } catch {
    // not Linux: fall back to the count
  }
  return os.cpus().map((_, i) => i);
}

/**
 * Decide the core split. auto: with taskset and ≥ 2 allowed CPUs, the load generator gets
 * the first and every server the rest, so both topologies get the same cores and the
 * driver never competes with them; otherwise nothing is pinned and the report says so.
 */
export function choosePinning(mode: string, hasTaskset: boolean, cpus: number[] = allowedCpus()): Pinning {
  if (mode === 'off') return { description: 'not pinned (--pin off): driver and servers share all CPUs' };
  if (mode === 'auto') {
    if (!hasTaskset) return { description: 'not pinned: taskset is not installed' };
    if (cpus.length < 2) return { description: `not pinned: only one CPU allowed (${formatCpuList(cpus)})` };
    const driver = String(cpus[0]);
    const servers = formatCpuList(cpus.slice(1));
    return {
      driverCpus: driver,
      serverCpus: servers,
      description: `driver on CPU ${driver}, all servers on CPU ${servers} (taskset)`,
    };
  }
  const m = /^([0-9,-]+):([0-9,-]+)$/.exec(mode);
  if (!m) throw new Error(`--pin must be auto, off or DRIVER_CPUS:SERVER_CPUS (e.g. 0:1-3), got "${mode}"`);
  if (!hasTaskset) throw new Error('--pin with explicit CPUs needs taskset (util-linux), which is not installed');
  return {
    driverCpus: m[1]!,
    serverCpus: m[2]!,
    description: `driver on CPU ${m[1]}, all servers on CPU ${m[2]} (taskset)`,
  };
}

/**
 * --driver-workers' default: one worker per CPU given to the load generator (from the
 * affinity mask, through the pinning), none of the servers' CPUs. Unpinned, the driver and
 * the servers share every CPU: one worker, as before.
 */
export function defaultDriverWorkers(pinning: Pinning): number {
  return pinning.driverCpus ? Math.max(1, parseCpuList(pinning.driverCpus).length) : 1;
}
