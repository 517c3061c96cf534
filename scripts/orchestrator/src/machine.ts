import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Machine } from './results-schema.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
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
      cwd: ROOT,
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

/**
 * Decide the core split. auto: with taskset and ≥ 2 CPUs, the load generator gets CPU 0
 * and every server the rest, so both topologies get the same cores and the driver never
 * competes with them; otherwise nothing is pinned and the report says so.
 */
export function choosePinning(mode: string, hasTaskset: boolean, cpuCount = os.cpus().length): Pinning {
  if (mode === 'off') return { description: 'not pinned (--pin off): driver and servers share all CPUs' };
  if (mode === 'auto') {
    if (!hasTaskset) return { description: 'not pinned: taskset is not installed' };
    if (cpuCount < 2) return { description: 'not pinned: only one CPU' };
    const servers = cpuCount === 2 ? '1' : `1-${cpuCount - 1}`;
    return {
      driverCpus: '0',
      serverCpus: servers,
      description: `driver on CPU 0, all servers on CPU ${servers} (taskset)`,
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
