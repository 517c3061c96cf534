import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import type { LatencySummaryMs } from './driver/histogram.js';
import type { TimelineBucket } from './driver/types.js';
import type { FaultOutcome } from './faults.js';
import type { HopStats } from './measure/hops.js';
import type { ServiceWindow } from './prometheus/api.js';

export const SCHEMA_VERSION = 1;

export interface ComponentResources {
  cpuSeconds: number;
  cpuSecondsPer1kRequests: number;
  /** CPU used over the window as a share of one core. */
  cpuCores: number;
  rssMaxMB: number;
}

export type RunPhase = 'trial' | 'capacity' | 'sweep' | 'fault';

export interface RunResult {
  phase: RunPhase;
  topology: string;
  backend: string;
  driver: string;
  replicas: number;
  scenario: string;
  trial: number;
  features: number;
  batchSize: number;
  targetRps: number;
  achievedRps: number;
  durationS: number;
  requests: number;
  ok: number;
  errors: { count: number; rate: number; byStatus: Record<string, number>; network: Record<string, number> };
  dropped: number;
  latencyMs: LatencySummaryMs;
  /** Same run measured from the actual send time (what a closed-loop tool would show). */
  serviceTimeMs: LatencySummaryMs;
  scheduleLagMs: LatencySummaryMs;
  /** HdrHistogram of latency in µs (compressed base64), for merging and re-rendering. */
  latencyHistogram: string;
  hops: Record<string, HopStats>;
  hopCount: number;
  entrySpreading: string;
  resources: Record<string, ComponentResources>;
  servedBy: Record<string, number>;
  timeline: TimelineBucket[];
  /** The load generator's clock at the run's start (epoch ms), to place faults on the timeline. */
  driverStartEpochMs: number;
  windowLatencyMs: Record<string, LatencySummaryMs>;
  clientRetries: number;
  fault?: FaultOutcome;
  valid: boolean;
  invalidReasons: string[];
  /** Percentiles this run has enough requests to claim. */
  trustworthyPercentiles: string[];
  /** Schedule lag p99 over 2 ms: the driver fell behind (saturated, or not given the CPU). Files written before it was renamed call it driverSaturated. */
  driverLate: boolean;
  sloMet: boolean;
  startedAt: string;
  /** Prometheus's view of the same window, per service (bench --with prometheus). */
  prometheus?: Record<string, ServiceWindow>;
}

export interface CapacityProbe {
  rateRps: number;
  achievedRps: number;
  p99Ms: number;
  errorRate: number;
  dropped: number;
  pass: boolean;
  reason?: string;
}

export interface CapacityResult {
  topology: string;
  replicas: number;
  /** Highest probed rate that met the SLO (0 if none did). */
  rateRps: number;
  /** Lowest probed rate that failed, bounding the true capacity from above. */
  failedAtRps: number | null;
  probes: CapacityProbe[];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface SummaryRow {
  topology: string;
  replicas: number;
  hopCount: number;
  targetRps: number;
  trials: number;
  validTrials: number;
  p50Ms: Spread;
  p99Ms: Spread;
  p999Ms: Spread;
  achievedRps: Spread;
  errorRate: Spread;
  cpuSecondsPer1k: Spread;
  /** Per component kind (monolith, gateway, prediction, driver): peak RSS, max over trials and replicas. */
  rssMaxMB: Record<string, number>;
  capacityRps: number | null;
  /** True when every probe passed: capacity is at least capacityRps, the search never found the limit. */
  capacityIsLowerBound: boolean;
  gatewayOverheadMs: number | null;
}

export interface ResultsFile {
  schemaVersion: typeof SCHEMA_VERSION;
  runId: string;
  status: 'running' | 'complete' | 'incomplete' | 'failed';
  statusReason?: string;
  startedAt: string;
  finishedAt?: string;
  machine: Record<string, unknown>;
  config: Record<string, unknown>;
  runs: RunResult[];
  capacity: CapacityResult[];
  summary: SummaryRow[];
}

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
  let data: ResultsFile;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (data.schemaVersion !== SCHEMA_VERSION)
    throw new Error(`${path} has schemaVersion ${data.schemaVersion}; this mlbench reads ${SCHEMA_VERSION}`);
  return data;
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
