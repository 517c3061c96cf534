import { HEALTH_CHECK, UPSTREAM_TIMEOUTS } from '@mlbench/balancer';
import type { Deployment } from '../backends/types.js';
import type { DriverMode, DriverProgress, DriverRunSpec, LoadDriver } from '../driver/types.js';
import type { ComponentResources, RunPhase, RunResult } from '../results/index.js';
import { configLabel } from '../results/labels.js';
import type { Scenario } from '../scenario/scenario.js';
import { decodeHistogram, summarizeMs } from '../stats/histogram.js';
import { round } from '../stats/round.js';
import { parseDuration } from '../sys/duration.js';
import { type ProcSample, sampleProcess } from '../sys/procfs.js';
import { hopsBetween, scrapeAll } from './hops.js';

/** Requests needed before a percentile means anything (≈ 5 samples beyond it). */
const PERCENTILE_MIN_REQUESTS: [string, number][] = [
  ['p50', 20],
  ['p90', 50],
  ['p99', 500],
  ['p99.9', 5_000],
];
export const MIN_VALID_REQUESTS = 500;
export const DRIVER_LAG_LIMIT_MS = 2;
/** Kept well under the usual 20k open-file limit of one process. */
const MAX_CONNECTIONS = 4000;

export interface RunContext {
  driver: LoadDriver;
  driverName: string;
  minDurationMs: number;
  onProgress?: (p: DriverProgress) => void;
  /** Cores the servers may use (their cpuset), to tell a busy server from an idle one. */
  serverCores?: number;
}

/** A server process at or above this share of a core may be saturated (one event loop). */
const BUSY_CORE_SHARE = 0.7;

/**
 * Latency the server does not account for: the client saw a p99 over the SLO, while the
 * entry tier's own p99 stayed under a quarter of it and no server process was near a full
 * core. On loopback the rest of the wait is the load generator's (measured: real k6 at
 * 1,250 req/s saw p99 36 ms against 0.25 ms inside the monolith, at 15 % of its core).
 * A saturated server is not excused: its requests wait in socket buffers, out of its
 * histograms, but its CPU shows it.
 */
export function unexplainedLatency(o: {
  clientP99Ms: number;
  sloP99Ms: number;
  entryP99Ms: number | undefined;
  processCores: number[];
  serverCores: number;
}): string | undefined {
  if (o.clientP99Ms <= o.sloP99Ms || o.entryP99Ms === undefined || o.entryP99Ms >= o.sloP99Ms / 4) return undefined;
  const busiest = Math.max(0, ...o.processCores);
  const total = o.processCores.reduce((a, b) => a + b, 0);
  if (busiest >= BUSY_CORE_SHARE || total >= BUSY_CORE_SHARE * o.serverCores) return undefined;
  return `p99 ${o.clientP99Ms} ms at the client but ${o.entryP99Ms} ms in the entry tier, whose busiest process used ${Math.round(busiest * 100)}% of a core: the wait was in the load generator`;
}

export interface RunMeta {
  phase: RunPhase;
  trial: number;
  /** Extra latency windows (ms from the run's start), e.g. while a fault is active. */
  windows?: { name: string; fromMs: number; toMs: number }[];
  /** Started together with the measured run (fault injection) and awaited after it. */
  duringRun?: () => Promise<void>;
}

export function meanRatePerSecond(s: Scenario): number {
  if (s.executor === 'constant-arrival-rate') return (s.rate! * 1000) / s.timeUnitMs;
  if (s.executor === 'ramping-arrival-rate') {
    let from = s.startRate ?? 0;
    let area = 0;
    let total = 0;
    for (const st of s.stages!) {
      const d = parseDuration(st.duration);
      area += ((from + st.target) / 2) * d;
      total += d;
      from = st.target;
    }
    return total ? (area / total) * (1000 / s.timeUnitMs) : 0;
  }
  return 0;
}

export function driverMode(s: Scenario, durationMs = s.durationMs): DriverMode {
  if (s.executor === 'constant-vus') return { kind: 'closed', vus: s.vus!, durationMs };
  const schedule =
    s.executor === 'constant-arrival-rate'
      ? { executor: s.executor, ratePerMs: s.rate! / s.timeUnitMs }
      : {
          executor: s.executor,
          startRatePerMs: (s.startRate ?? 0) / s.timeUnitMs,
          stages: s.stages!.map((st) => ({
            targetPerMs: st.target / s.timeUnitMs,
            durationMs: parseDuration(st.duration),
          })),
        };
  return {
    kind: 'open',
    maxInFlight: s.maxVUs,
    schedule: { ...schedule, durationMs, arrival: s.arrival, seed: s.seed },
  };
}

export function driverSpec(s: Scenario, dep: Deployment, label: string, warmup = false): DriverRunSpec {
  // As in k6, every VU has its own connection: a backlog then queues at the server, where
  // it belongs (and where load shedding can see it), not in a client-side connection pool.
  const connections = Math.max(1, Math.ceil(Math.min(s.maxVUs, MAX_CONNECTIONS) / dep.entryUrls.length));
  const mode: DriverMode = warmup ? driverModeForWarmup(s) : driverMode(s);
  return {
    label,
    targets: dep.entryUrls,
    payload: s.payload,
    mode,
    connectionsPerTarget: connections,
    timeoutMs: s.requestTimeoutMs,
    // Monolith replicas get the balancer the gateway gives prediction replicas (fairness rule);
    // so do several gateways, which the client spreads over as over monolith replicas.
    balancer:
      dep.topology === 'monolith' || dep.entryUrls.length > 1
        ? {
            kind: 'client-lb',
            healthIntervalMs: HEALTH_CHECK.intervalMs,
            perTryTimeoutMs: UPSTREAM_TIMEOUTS.perTryMs,
            ...(dep.healthPath !== undefined ? { healthPath: dep.healthPath } : {}),
          }
        : { kind: 'round-robin' },
  };
}

function driverModeForWarmup(s: Scenario): DriverMode {
  if (s.executor === 'constant-vus') return { kind: 'closed', vus: s.vus!, durationMs: s.warmupMs };
  const rate = Math.max(1, meanRatePerSecond(s));
  return {
    kind: 'open',
    maxInFlight: s.maxVUs,
    schedule: {
      executor: 'constant-arrival-rate',
      ratePerMs: rate / 1000,
      durationMs: s.warmupMs,
      arrival: 'constant',
      seed: s.seed,
    },
  };
}

async function sampleAll(dep: Deployment, driver: LoadDriver): Promise<Map<string, ProcSample>> {
  const out = await dep.sampleResources();
  const samples = (driver.pids ?? [driver.pid]).map((pid) => sampleProcess(pid));
  if (samples.every((s) => s !== undefined) && samples.length > 0)
    out.set('driver', {
      cpuSeconds: samples.reduce((a, s) => a + s!.cpuSeconds, 0),
      rssMB: samples.reduce((a, s) => a + s!.rssMB, 0),
      rssPeakMB: samples.reduce((a, s) => a + s!.rssPeakMB, 0),
    });
  return out;
}

/**
 * One measured run: warm up (discarded), snapshot server metrics and /proc, drive the
 * scenario, snapshot again, and turn the deltas into a RunResult.
 */
export async function measureRun(ctx: RunContext, dep: Deployment, s: Scenario, meta: RunMeta): Promise<RunResult> {
  const label = `${meta.phase} ${configLabel(dep)}`;
  if (s.warmupMs > 0) await ctx.driver.run(driverSpec(s, dep, `${label} warm-up`, true), ctx.onProgress);
  const metricsBefore = await scrapeAll(dep.components);
  const procBefore = await sampleAll(dep, ctx.driver);
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const spec = { ...driverSpec(s, dep, label), ...(meta.windows ? { windows: meta.windows } : {}) };
  const [r] = await Promise.all([ctx.driver.run(spec, ctx.onProgress), meta.duringRun?.()]);
  const windowS = (performance.now() - t0) / 1000;
  const procAfter = await sampleAll(dep, ctx.driver);
  const metricsAfter = await scrapeAll(dep.components);

  const latency = r.latencySummaryMs ?? summarizeMs(decodeHistogram(r.latency));
  const errorsCount = r.completed - r.ok;
  const durationS = Math.max(r.wallMs, r.scheduledMs) / 1000;
  const requests = r.completed;
  const resources: Record<string, ComponentResources> = {};
  for (const [name, after] of procAfter) {
    const before = procBefore.get(name);
    // Replaced mid-run (a task rescheduled off a lost node keeps its name): no delta to take.
    if (!before || before.id !== after.id) continue;
    const cpu = after.cpuSeconds - before.cpuSeconds;
    // A counter that went backwards is another instance's (or no reading at all): no figure.
    if (cpu < 0) continue;
    resources[name] = {
      cpuSeconds: round(cpu, 3),
      cpuSecondsPer1kRequests: requests ? round((cpu * 1000) / requests, 4) : 0,
      cpuCores: round(cpu / windowS, 3),
      rssMaxMB: round(after.rssPeakMB, 1),
    };
    const node = dep.components.find((c) => c.name === name)?.node;
    if (node) resources[name]!.node = node;
  }
  // A driver that is a new process per run (k6) measured its own CPU: the pid sampled
  // before the run was the previous run's, already gone.
  if (r.cpuSeconds !== undefined)
    resources.driver = {
      cpuSeconds: round(r.cpuSeconds, 3),
      cpuSecondsPer1kRequests: requests ? round((r.cpuSeconds * 1000) / requests, 4) : 0,
      cpuCores: round(r.cpuSeconds / windowS, 3),
      rssMaxMB: resources.driver?.rssMaxMB ?? 0,
    };
  const serverCpu = Object.entries(resources)
    .filter(([n]) => n !== 'driver')
    .reduce((a, [, v]) => a + v.cpuSeconds, 0);
  resources.servers = {
    cpuSeconds: round(serverCpu, 3),
    cpuSecondsPer1kRequests: requests ? round((serverCpu * 1000) / requests, 4) : 0,
    cpuCores: round(serverCpu / windowS, 3),
    rssMaxMB: round(
      Object.entries(resources)
        .filter(([n]) => n !== 'driver')
        .reduce((a, [, v]) => a + v.rssMaxMB, 0),
      1,
    ),
  };

  const invalidReasons: string[] = [];
  if (requests < MIN_VALID_REQUESTS)
    invalidReasons.push(`only ${requests} requests; p99 needs at least ${MIN_VALID_REQUESTS}`);
  if (r.scheduledMs < ctx.minDurationMs)
    invalidReasons.push(`measured ${r.scheduledMs} ms; the minimum is ${ctx.minDurationMs} ms`);
  const lag = summarizeMs(decodeHistogram(r.scheduleLag));
  // The driver spins between sends (see driver/run.ts), so its CPU share is no signal:
  // it is saturated when it cannot send on schedule.
  const hops = hopsBetween(dep.components, metricsBefore, metricsAfter);
  // Not while a fault is injected (a frozen replica's wait is in no histogram either) or
  // when a replica failed or went missing: then the server side is not fully seen.
  const serverFullySeen =
    meta.phase !== 'fault' &&
    !meta.duringRun &&
    Object.keys(r.networkErrors).length === 0 &&
    Object.values(hops).every((h) => !h.missing && !h.resets);
  // The entry tier's histogram must hold (nearly) every request the client counted.
  const entryHop = hops[dep.topology === 'monolith' ? 'monolith' : 'gateway'];
  const unexplained = serverFullySeen
    ? unexplainedLatency({
        clientP99Ms: latency.p99,
        sloP99Ms: s.slo.p99Ms,
        entryP99Ms: entryHop && entryHop.requests >= 0.9 * requests ? entryHop.p99Ms : undefined,
        processCores: Object.entries(resources)
          .filter(([n]) => n !== 'driver' && n !== 'servers')
          .map(([, v]) => v.cpuCores),
        serverCores: ctx.serverCores ?? dep.replicas + (dep.topology === 'monolith' ? 0 : 1),
      })
    : undefined;
  const lateReason = r.late ?? unexplained;
  // One late worker is a late driver: its share of arrivals left late whatever the others did.
  const lateWorker = r.workers?.find((w) => w.lagP99Ms > DRIVER_LAG_LIMIT_MS);
  const driverLate = lag.p99 > DRIVER_LAG_LIMIT_MS || lateReason !== undefined || lateWorker !== undefined;
  const targetRps = s.executor === 'constant-vus' ? 0 : meanRatePerSecond(s);
  const achievedRps = requests / durationS;
  const errorRate = r.scheduled ? (errorsCount + r.dropped) / r.scheduled : 0;
  const sloMet =
    invalidReasons.length === 0 &&
    latency.p99 <= s.slo.p99Ms &&
    errorRate <= s.slo.errorRate &&
    (targetRps === 0 || achievedRps >= 0.95 * targetRps);
  return {
    phase: meta.phase,
    implementation: dep.implementation ?? 'mlbench',
    topology: dep.topology,
    backend: dep.backend,
    driver: ctx.driverName,
    replicas: dep.replicas,
    gateways: dep.gateways,
    scenario: s.name,
    trial: meta.trial,
    features: s.payload.features,
    batchSize: s.payload.batchSize,
    targetRps: round(targetRps, 1),
    achievedRps: round(achievedRps, 1),
    durationS: round(durationS, 3),
    requests,
    ok: r.ok,
    errors: {
      count: errorsCount,
      rate: round(requests ? errorsCount / requests : 0, 6),
      byStatus: r.errorsByStatus,
      network: r.networkErrors,
    },
    dropped: r.dropped,
    failed: { count: errorsCount + r.dropped, rate: round(errorRate, 6) },
    latencyMs: latency,
    // k6 times from the actual send: what it reports is service time (see driver/k6.ts).
    serviceTimeMs: r.latencySummaryMs ?? summarizeMs(decodeHistogram(r.serviceTime)),
    scheduleLagMs: lag,
    latencyHistogram: r.latencySummaryMs ? '' : r.latency,
    // Trials only: what the summary's confidence intervals resample (about 0.3 KB a block).
    ...(meta.phase === 'trial' && r.blockMs && r.blockHistograms?.length
      ? { latencyBlocks: { blockMs: r.blockMs, histograms: r.blockHistograms } }
      : {}),
    hops,
    hopCount: dep.hops,
    entrySpreading: dep.entrySpreading,
    resources,
    servedBy: renameKeys(r.servedBy, dep.servedByAlias),
    timeline: r.timeline.map((b) => ({ ...b, servedBy: renameKeys(b.servedBy, dep.servedByAlias) })),
    driverStartEpochMs: r.startedAtEpochMs,
    windowLatencyMs: Object.fromEntries(
      Object.entries(r.windows).map(([k, v]) => [k, summarizeMs(decodeHistogram(v))]),
    ),
    clientRetries: r.retries,
    valid: invalidReasons.length === 0,
    invalidReasons,
    trustworthyPercentiles: PERCENTILE_MIN_REQUESTS.filter(([, n]) => requests >= n).map(([p]) => p),
    driverLate,
    ...(lateReason
      ? { driverLateReason: lateReason }
      : lateWorker
        ? { driverLateReason: `driver worker ${lateWorker.index + 1} sent late (lag p99 ${lateWorker.lagP99Ms} ms)` }
        : {}),
    ...(r.workers ? { driverWorkers: r.workers } : {}),
    sloMet,
    startedAt,
  };
}

/** Replica ids as the services report them, under the names the deployment gives its components. */
function renameKeys(counts: Record<string, number>, alias: Record<string, string> | undefined): Record<string, number> {
  if (!alias) return counts;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) {
    const name = alias[k] ?? k;
    out[name] = (out[name] ?? 0) + v;
  }
  return out;
}

/**
 * Bring a freshly started deployment to steady state before anything is measured: a
 * cold Node process (unoptimized code, no pooled connections) answers the first
 * seconds of load several times slower, and a sudden full-rate start makes every
 * client open connections at once. Ramp from a tenth of the rate over half the time,
 * then hold; all of it is discarded.
 */
export async function warmDeployment(ctx: RunContext, dep: Deployment, s: Scenario, ms: number): Promise<void> {
  if (ms <= 0) return;
  const rate = Math.max(10, Math.min(meanRatePerSecond(s) || 500, 2000));
  const spec = driverSpec(s, dep, `warm-up ${configLabel(dep)}`);
  await ctx.driver.run(
    {
      ...spec,
      mode: {
        kind: 'open',
        maxInFlight: s.maxVUs,
        schedule: {
          executor: 'ramping-arrival-rate',
          startRatePerMs: rate / 10_000,
          stages: [
            { targetPerMs: rate / 1000, durationMs: ms / 2 },
            { targetPerMs: rate / 1000, durationMs: ms / 2 },
          ],
          durationMs: ms,
          arrival: 'constant',
          seed: s.seed,
        },
      },
    },
    ctx.onProgress,
  );
}
