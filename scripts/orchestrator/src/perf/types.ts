import { spread as spreadOf } from '../stats/spread.js';
import type { Pinning } from '../sys/machine.js';

export interface PerfOptions {
  rounds: number;
  durationMs: number;
  connections: number;
  /** Requests per memory step (RSS after one and after two steps). */
  memoryRequests: number;
  pinning: Pinning;
  runId: string;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** Over rounds: the median and range (from the one spread()), with every round's value. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export interface TargetCheck {
  name: string;
  measured: string;
  target: string;
  met: boolean;
}

export interface Probe {
  rateRps: number;
  achievedRps: number;
  dropped: number;
  errors: number;
  lagP99Ms: number;
  ok: boolean;
  /** Which load generator, when not the built-in driver alone ("k6", "×2 workers"). */
  driver?: string;
}

export interface PerfResults {
  runId: string;
  startedAt: string;
  finishedAt?: string;
  settings: Omit<PerfOptions, 'log' | 'signal' | 'pinning'> & { pinning: string };
  throughput: Record<string, Spread>;
  ratios: Record<string, Spread>;
  /** The entry process's own CPU per 1k requests at its closed-loop maximum, by side. */
  cpuMsPer1k?: Record<string, Spread>;
  gatewayHop: {
    rateRps: number;
    directP50Ms: Spread;
    gatewayP50Ms: Spread;
    directP99Ms: Spread;
    gatewayP99Ms: Spread;
    /** The minimal proxy at the same rate: what any hop costs here. */
    proxyP50Ms?: Spread;
    proxyP99Ms?: Spread;
    /** Debian's nginx at the same rate, where installed. */
    nginxP50Ms?: Spread;
    nginxP99Ms?: Spread;
  };
  driver: {
    autocannonMaxRps: Spread;
    autocannonCpuMsPer1k: number;
    builtinSustainedRps: number;
    builtinCpuMsPer1k: number;
    scheduleLagP99Ms: number;
    /**
     * The built-in driver closed loop (same connections, no schedule), paired round by round
     * with autocannon: what its HTTP client path costs apart from open-loop timing.
     */
    builtinClosedRps?: Spread;
    builtinClosedCpuMsPer1k?: number;
    closedOverAutocannon?: Spread;
    probes: Probe[];
    /** Real k6 on the same CPUs against the same server (absent when k6 is not on PATH). */
    k6?: { version: string; sustainedRps: number; cpuMsPer1k: number; probes: Probe[] } | undefined;
    /** The sustained open-loop rate against the worker count (--driver-workers), side by side in one run. */
    byWorkers?: { workers: number; sustainedRps: number; lagP99Ms: number; cpuMsPer1k: number }[];
  };
  inference: {
    features: number;
    singleUsPerRow: number;
    batchUsPerRow: number;
    routeSingleUsPerRow: number;
    routeBatchUsPerRow: number;
  }[];
  memory: Record<string, { idleMB: number; after1MB: number; after2MB: number }>;
  targets: TargetCheck[];
}

export function spread(values: number[]): Spread {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  const rounded = values.map(r);
  const { median, min, max } = spreadOf(rounded);
  return { median, min, max, values: rounded };
}
