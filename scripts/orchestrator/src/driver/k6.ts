import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { topologyOfLabel } from '../results/labels.js';
import { encodeHistogram, type LatencySummaryMs, newHistogram } from '../stats/histogram.js';
import { round3 } from '../stats/round.js';
import { ManagedProcess } from '../sys/child.js';
import { sampleProcess } from '../sys/procfs.js';
import { REPO_ROOT } from '../sys/repo.js';
import { which } from '../sys/which.js';
import { expectedArrivals } from './arrivals.js';
import type { DriverMode, DriverProgress, DriverRunResult, DriverRunSpec } from './types.js';

export const K6_HINT =
  '--driver k6 needs the k6 binary on PATH (https://grafana.com/docs/k6/latest/set-up/install-k6/); or use --driver builtin';

/** k6's exit code when thresholds failed: the run itself is fine and its summary counts. */
const K6_THRESHOLDS_FAILED = 99;

interface K6Metric {
  type?: string;
  values: Record<string, number>;
}
export interface K6Summary {
  state?: { testRunDurationMs?: number };
  metrics: Record<string, K6Metric>;
}

export interface K6Ingested {
  requests: number;
  failed: number;
  dropped: number;
  iterations: number;
  durationMs: number;
  latencyMs: LatencySummaryMs;
  /** Thresholds by expression, e.g. "http_req_duration{scenario:measure} p(99)<25" → passed. */
  thresholds: Record<string, boolean>;
  /** The most VUs k6 had (vus_max): with fewer than maxVUs, a dropped iteration is k6's own lateness. */
  vusMax: number;
}

/**
 * Read a k6 handleSummary JSON. The measured phase's tagged sub-metrics (what mlbench's k6
 * scripts put in thresholds) win over the whole-test metrics, which include warm-up.
 */
export function ingestK6Summary(summary: K6Summary): K6Ingested {
  if (!summary || typeof summary !== 'object' || !summary.metrics || typeof summary.metrics !== 'object')
    throw new Error('not a k6 summary: no "metrics" object');
  const metric = (name: string) => summary.metrics[`${name}{scenario:measure}`] ?? summary.metrics[name];
  const values = (name: string) => metric(name)?.values ?? {};
  const reqs = metric('http_reqs');
  if (!reqs) throw new Error('not a k6 summary of an HTTP test: no http_reqs metric');
  const d = values('http_req_duration');
  const thresholds: Record<string, boolean> = {};
  for (const [name, m] of Object.entries(summary.metrics)) {
    const th = (m as { thresholds?: Record<string, { ok: boolean }> }).thresholds;
    for (const [expr, r] of Object.entries(th ?? {})) thresholds[`${name} ${expr}`] = r.ok;
  }
  const requests = reqs.values.count ?? 0;
  return {
    requests,
    // http_req_failed is a rate of "failed" being true: its passes are the failed requests.
    failed: values('http_req_failed').passes ?? 0,
    dropped: values('dropped_iterations').count ?? 0,
    iterations: values('iterations').count ?? requests,
    durationMs: summary.state?.testRunDurationMs ?? 0,
    latencyMs: {
      min: round3(d.min ?? 0),
      p50: round3(d.med ?? d['p(50)'] ?? 0),
      p90: round3(d['p(90)'] ?? 0),
      p99: round3(d['p(99)'] ?? 0),
      p999: round3(d['p(99.9)'] ?? 0),
      max: round3(d.max ?? 0),
      mean: round3(d.avg ?? 0),
    },
    thresholds,
    vusMax: summary.metrics.vus_max?.values.max ?? summary.metrics.vus_max?.values.value ?? 0,
  };
}

/** k6 on one core holds under 2,000 arrivals/s here: above ~90 % of a core it is the bottleneck. */
export const K6_CPU_LIMIT = 0.9;

/**
 * Whether k6 itself fell behind, from its own figures: it ran out of CPU, or it dropped
 * arrivals while it still had VUs to spare (a slow server fills every VU first), or it
 * started fewer iterations than the schedule asked with none dropped.
 */
export function k6Lateness(
  k: K6Ingested,
  o: { maxVUs: number; targetIterations: number; cpuCores: number | undefined },
): string | undefined {
  if (o.cpuCores !== undefined && o.cpuCores >= K6_CPU_LIMIT)
    return `k6 used ${Math.round(o.cpuCores * 100)}% of a core`;
  if (k.dropped > 0 && k.vusMax < o.maxVUs)
    return `k6 dropped ${k.dropped} arrivals with ${k.vusMax} of ${o.maxVUs} VUs in use`;
  if (k.dropped === 0 && o.targetIterations > 0 && k.iterations + k.dropped < 0.95 * o.targetIterations)
    return `k6 started ${k.iterations} of ${Math.round(o.targetIterations)} scheduled iterations`;
  return undefined;
}

/** The scenario file a k6 script reads (SCENARIO_FILE) for one driver run. */
export function shapeForK6(spec: DriverRunSpec): Record<string, unknown> {
  const mode: DriverMode = spec.mode;
  const common = {
    preAllocatedVUs: Math.max(1, Math.min(spec.connectionsPerTarget * spec.targets.length, 100)),
    payload: spec.payload,
    requestTimeout: `${spec.timeoutMs}ms`,
    warmup: '0s',
  };
  if (mode.kind === 'closed')
    return { ...common, executor: 'constant-vus', vus: mode.vus, duration: `${mode.durationMs}ms` };
  const s = mode.schedule;
  const maxVUs = Math.max(mode.maxInFlight, common.preAllocatedVUs);
  if (s.executor === 'constant-arrival-rate')
    return {
      ...common,
      executor: 'constant-arrival-rate',
      // k6 takes an integer rate per timeUnit: per second over 1 s, or per minute below 1/s.
      rate: Math.max(1, Math.round(s.ratePerMs! * 1000)),
      timeUnit: '1s',
      duration: `${s.durationMs}ms`,
      maxVUs,
      arrival: s.arrival,
    };
  return {
    ...common,
    executor: 'ramping-arrival-rate',
    startRate: Math.round((s.startRatePerMs ?? 0) * 1000),
    timeUnit: '1s',
    stages: (s.stages ?? []).map((st) => ({
      target: Math.round(st.targetPerMs * 1000),
      duration: `${st.durationMs}ms`,
    })),
    maxVUs,
    arrival: s.arrival,
  };
}

/**
 * k6's share of a core while it sent load: over the samples of the test run's last
 * `durationMs` (k6's start-up, compiling the TypeScript scripts, is a second of CPU that is
 * not load, and counted in the total it read as 110 % of a core at 2,000 req/s).
 */
export function cpuShareWhileLoading(samples: { t: number; cpu: number }[], durationMs: number): number | undefined {
  const last = samples.at(-1);
  if (!last) return undefined;
  const from = samples.find((s) => s.t >= last.t - durationMs);
  if (!from || last.t - from.t < 500) return undefined;
  return (last.cpu - from.cpu) / ((last.t - from.t) / 1000);
}

function scheduledMs(mode: DriverMode): number {
  return mode.kind === 'closed' ? mode.durationMs : mode.schedule.durationMs;
}

/**
 * k6 as mlbench's load generator: each run is one `k6 run` of the shape's script in
 * loadtests/k6 with the run's shape in SCENARIO_FILE, and its handleSummary JSON read back.
 * k6 measures from the actual send time and reports a backlog as dropped iterations, so
 * its latency is the built-in driver's "service time", not time from the scheduled send.
 */
export class K6Driver {
  readonly binary: string;
  private runs = 0;
  pid: number | undefined;
  private current: ManagedProcess | undefined;
  private closing = false;

  constructor(private readonly opts: { workDir: string; runId: string; cpus?: string | undefined; binary?: string }) {
    const binary = opts.binary ?? which('k6');
    if (!binary) throw new Error(K6_HINT);
    this.binary = binary;
  }

  async run(spec: DriverRunSpec, onProgress?: (p: DriverProgress) => void): Promise<DriverRunResult> {
    if (this.closing) throw new Error('driver closed');
    const n = ++this.runs;
    await mkdir(this.opts.workDir, { recursive: true });
    const scenarioFile = join(this.opts.workDir, `k6-${n}-scenario.json`);
    const summaryFile = join(this.opts.workDir, `k6-${n}-summary.json`);
    const shape = shapeForK6(spec);
    await writeFile(scenarioFile, JSON.stringify(shape, null, 2));
    const script = join(
      REPO_ROOT,
      'loadtests/k6',
      shape.executor === 'ramping-arrival-rate' ? 'ramp.ts' : 'constant.ts',
    );
    const topology = topologyOfLabel(spec.label);
    const startedAtEpochMs = Date.now();
    const proc = new ManagedProcess(
      {
        name: 'k6',
        command: this.binary,
        args: ['run', '--quiet', '--no-color', script],
        env: {
          // K6_* passes through: outputs (K6_OUT, K6_PROMETHEUS_RW_SERVER_URL), K6_BROWSER_… and the like.
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('K6_'))),
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          BASE_URLS: spec.targets.join(','),
          SCENARIO_FILE: scenarioFile,
          SUMMARY_PATH: summaryFile,
          WARMUP: '0s',
          MLBENCH_RUN_ID: this.opts.runId,
          TOPOLOGY: topology,
          K6_NO_USAGE_REPORT: 'true',
        },
        cpus: this.opts.cpus,
      },
      this.opts.cpus ? which('taskset') : undefined,
    );
    this.pid = proc.pid;
    this.current = proc;
    // The process exits with the run, so its CPU is read while it lives (every 200 ms; the
    // last reading before exit is within that of the total).
    const samples: { t: number; cpu: number }[] = [];
    const sampleCpu = () => {
      const s = sampleProcess(proc.pid);
      if (s) samples.push({ t: performance.now(), cpu: s.cpuSeconds });
    };
    const sampler = setInterval(sampleCpu, 200);
    const { code, signal } = await proc.exited.finally(() => {
      clearInterval(sampler);
      this.current = undefined;
    });
    if (code !== 0 && code !== K6_THRESHOLDS_FAILED)
      throw new Error(`k6 exited with code ${code ?? signal}; last output:\n${proc.logTail()}`);
    let summary: K6Summary;
    try {
      summary = JSON.parse(await readFile(summaryFile, 'utf8'));
    } catch (err) {
      throw new Error(`k6 wrote no readable summary (${(err as Error).message}); last output:\n${proc.logTail()}`);
    }
    const ingested = ingestK6Summary(summary);
    const result = k6RunResult(spec, ingested, startedAtEpochMs);
    result.cpuSeconds = samples.at(-1)?.cpu ?? 0;
    const share = cpuShareWhileLoading(samples, ingested.durationMs);
    if (share !== undefined) result.loadCpuSeconds = (share * ingested.durationMs) / 1000;
    const late = k6Lateness(ingested, {
      maxVUs: Number(shape.maxVUs ?? shape.vus ?? 0),
      targetIterations: spec.mode.kind === 'open' ? expectedArrivals(spec.mode.schedule) : 0,
      cpuCores: share,
    });
    if (late) result.late = late;
    onProgress?.({
      label: spec.label,
      elapsedMs: result.wallMs,
      totalMs: result.scheduledMs,
      sent: result.sent,
      completed: result.completed,
      errors: result.completed - result.ok,
      dropped: result.dropped,
      rate: result.wallMs ? (result.completed * 1000) / result.wallMs : 0,
      p99Ms: result.latencySummaryMs?.p99 ?? 0,
    });
    return result;
  }

  /** Ctrl-C: stop the k6 run in flight as k6's own Ctrl-C does, and refuse further runs. */
  async close(): Promise<void> {
    this.closing = true;
    await this.current?.stop(5_000, 'SIGINT');
  }
}

/** A k6 run in the built-in driver's result shape; what k6 does not report stays empty. */
export function k6RunResult(spec: DriverRunSpec, k: K6Ingested, startedAtEpochMs: number): DriverRunResult {
  const empty = encodeHistogram(newHistogram());
  return {
    label: spec.label,
    startedAtEpochMs,
    scheduledMs: scheduledMs(spec.mode),
    wallMs: k.durationMs,
    scheduled: k.iterations + k.dropped,
    sent: k.requests,
    completed: k.requests,
    ok: k.requests - k.failed,
    errorsByStatus: k.failed ? { failed: k.failed } : {},
    networkErrors: {},
    dropped: k.dropped,
    latency: empty,
    serviceTime: empty,
    scheduleLag: empty,
    latencySummaryMs: k.latencyMs,
    servedBy: {},
    timeline: [],
    retries: 0,
    windows: {},
  };
}
