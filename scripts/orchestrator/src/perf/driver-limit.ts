import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K6Driver } from '../driver/k6.js';
import { DriverPool } from '../driver/pool.js';
import type { DriverRunResult, DriverRunSpec, LoadDriver } from '../driver/types.js';
import type { DriverProcess } from '../driver/worker-process.js';
import { searchCapacity } from '../measure/capacity.js';
import { decodeHistogram, summarizeMs } from '../stats/histogram.js';
import { round3 } from '../stats/round.js';
import { parseCpuList } from '../sys/machine.js';
import { sampleProcess } from '../sys/procfs.js';
import { which } from '../sys/which.js';
import { type ClosedLoop, closedLoop, openLoopSpec } from './load.js';
import type { Server } from './servers.js';
import { type PerfOptions, type PerfResults, type Probe, spread } from './types.js';

/** One driver run and the CPU seconds the driver's processes (one, or every worker) spent on it. */
async function runWithCpu(driver: LoadDriver, spec: DriverRunSpec) {
  const cpuNow = () =>
    (driver.pids ?? [driver.pid]).reduce<number>((a, pid) => a + (sampleProcess(pid)?.cpuSeconds ?? 0), 0);
  const before = cpuNow();
  const r = await driver.run(spec);
  return { r, cpu: cpuNow() - before };
}

/**
 * 3: the built-in driver's highest sustainable open-loop rate against the bare server
 * (found by the capacity search the bench uses), beside autocannon's closed-loop maximum;
 * and the same driver closed loop, paired with autocannon round by round, which splits
 * the gap into the client path and the open-loop schedule.
 */
export async function measureDriverLimit(
  o: PerfOptions,
  driver: DriverProcess,
  bare: Server,
  autocannonOnBare: ClosedLoop[],
): Promise<PerfResults['driver']> {
  o.log('driver: highest sustainable open-loop rate vs autocannon’s closed-loop maximum (bare server)');
  const acRps = spread(autocannonOnBare.map((r) => r.rps));
  const out: PerfResults['driver'] = {
    autocannonMaxRps: acRps,
    autocannonCpuMsPer1k: spread(autocannonOnBare.map((r) => (r.cpuSeconds * 1e6) / r.requests)).median,
    builtinSustainedRps: 0,
    builtinCpuMsPer1k: 0,
    scheduleLagP99Ms: 0,
    probes: [],
  };

  const closedSpec: DriverRunSpec = {
    ...openLoopSpec(bare.url, 1, o),
    label: 'perf closed loop',
    mode: { kind: 'closed', vus: o.connections, durationMs: o.durationMs },
  };
  const closed = { rps: [] as number[], ratio: [] as number[], cpu: [] as number[] };
  for (let i = 0; i < o.rounds; i++) {
    if (o.signal.aborted) throw new Error('interrupted');
    const ac = await closedLoop(bare.url, o);
    const { r, cpu } = await runWithCpu(driver, closedSpec);
    if (r.ok !== r.completed) throw new Error(`built-in driver closed loop: ${r.completed - r.ok} failed requests`);
    const rps = r.completed / (r.wallMs / 1000);
    closed.rps.push(rps);
    closed.ratio.push(rps / ac.rps);
    closed.cpu.push((cpu * 1e6) / Math.max(1, r.completed));
    o.log(`  closed loop: built-in ${Math.round(rps)}/s vs autocannon ${Math.round(ac.rps)}/s`);
  }
  out.builtinClosedRps = spread(closed.rps);
  out.closedOverAutocannon = spread(closed.ratio);
  out.builtinClosedCpuMsPer1k = round3(spread(closed.cpu).median);

  // From 0.8× autocannon's maximum, up to 1.3×.
  const range = {
    startRps: Math.round(acRps.median * 0.8),
    minRps: Math.max(1, Math.round(acRps.median * 0.05)),
    maxRps: Math.round(acRps.median * 1.3),
  };
  const one = await sustainedOpenLoop(o, driver, bare, range, '');
  out.probes = one.probes;
  out.builtinSustainedRps = one.sustainedRps;
  out.builtinCpuMsPer1k = one.cpuMsPer1k;
  out.scheduleLagP99Ms = one.lagP99Ms;
  // The same search with several worker processes (--driver-workers), one per driver CPU where
  // there are enough (else they share them: on this 2-CPU machine it only proves the pool correct).
  const cpus = o.pinning.driverCpus ? parseCpuList(o.pinning.driverCpus).map(String) : undefined;
  const workers = Math.max(2, cpus?.length ?? 0);
  const pool = new DriverPool({ workers, cpus, runId: o.runId });
  try {
    const many = await sustainedOpenLoop(o, pool, bare, range, ` ×${workers} workers`);
    out.byWorkers = [
      { workers: 1, sustainedRps: one.sustainedRps, lagP99Ms: one.lagP99Ms, cpuMsPer1k: one.cpuMsPer1k },
      { workers, sustainedRps: many.sustainedRps, lagP99Ms: many.lagP99Ms, cpuMsPer1k: many.cpuMsPer1k },
    ];
  } finally {
    await pool.close();
  }
  out.k6 = await k6Limit(o, bare, one.sustainedRps);
  return out;
}

/**
 * Real k6 (where `k6` is on PATH) with the project's constant-arrival-rate script, on the
 * driver's CPUs against the same server: the rate it holds and its CPU per 1k requests, beside
 * the built-in driver's.
 */
async function k6Limit(o: PerfOptions, bare: Server, builtinRps: number): Promise<PerfResults['driver']['k6']> {
  const binary = which('k6');
  if (!binary) {
    o.log('driver: k6 not on PATH: the comparison with k6 is left out');
    return undefined;
  }
  o.log('driver: real k6, same server and CPUs, highest rate with no dropped iterations');
  const workDir = await mkdtemp(join(tmpdir(), 'mlbench-perf-k6-'));
  const k6 = new K6Driver({ workDir, runId: o.runId, cpus: o.pinning.driverCpus, binary });
  try {
    const version = spawnSync(binary, ['version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.split('\n')[0];
    // k6 held about 2,000/s on one core here: start there, never above 1.3× the built-in's rate.
    const top = Math.max(500, Math.round((builtinRps || 10_000) * 1.3));
    // k6 refuses a scenario shorter than 1 s.
    const found = await sustainedOpenLoop(
      { ...o, durationMs: Math.max(1_000, o.durationMs) },
      k6,
      bare,
      { startRps: Math.min(2_000, top), minRps: 100, maxRps: top },
      ' k6',
      sustainedBy.k6,
    );
    return {
      version: version?.trim() || 'k6',
      sustainedRps: found.sustainedRps,
      cpuMsPer1k: found.cpuMsPer1k,
      probes: found.probes,
    };
  } finally {
    await k6.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

interface Range {
  startRps: number;
  minRps: number;
  maxRps: number;
}

type Judge = (achieved: number, rate: number, r: DriverRunResult, lagP99Ms: number) => boolean;

/**
 * Sustained, for the built-in driver: on schedule (lag p99 ≤ 1 ms), within 1 % of the rate,
 * nothing dropped or failed. For k6, which has no lag histogram: no dropped iterations, no
 * failures, and its achieved rate within 1 %.
 */
const sustainedBy: Record<'builtin' | 'k6', Judge> = {
  builtin: (achieved, rate, r, lag) => achieved >= 0.99 * rate && r.dropped === 0 && r.ok === r.completed && lag <= 1,
  k6: (achieved, rate, r) => achieved >= 0.99 * rate && r.dropped === 0 && r.ok === r.completed,
};

/** The highest open-loop rate the driver holds (sustainedBy) against the bare server. */
async function sustainedOpenLoop(
  o: PerfOptions,
  driver: LoadDriver,
  bare: Server,
  range: Range,
  tag: string,
  judge: Judge = sustainedBy.builtin,
) {
  const probes: Probe[] = [];
  const details = new Map<number, { cpuMsPer1k: number; lag: number }>();
  const found = await searchCapacity(
    async (rate) => {
      if (o.signal.aborted) throw new Error('interrupted');
      const { r, cpu } = await runWithCpu(driver, openLoopSpec(bare.url, rate, o));
      const achieved = r.completed / (Math.max(r.wallMs, r.scheduledMs) / 1000);
      const lag = summarizeMs(decodeHistogram(r.scheduleLag)).p99;
      const ok = judge(achieved, rate, r, lag);
      const errors = r.completed - r.ok;
      probes.push({
        rateRps: rate,
        achievedRps: Math.round(achieved),
        dropped: r.dropped,
        errors,
        lagP99Ms: lag,
        ok,
        ...(tag ? { driver: tag.trim() } : {}),
      });
      // k6 is a new process per run, gone before it can be sampled: its own reading while it
      // sent load is used (its ~1 s of start-up compiling the scripts is not load).
      const cpuSeconds = driver instanceof K6Driver ? (r.loadCpuSeconds ?? r.cpuSeconds ?? cpu) : cpu;
      details.set(rate, { cpuMsPer1k: (cpuSeconds * 1e6) / Math.max(1, r.completed), lag });
      const lagText = judge === sustainedBy.builtin ? `, lag p99 ${lag} ms` : '';
      o.log(
        `  ${rate}/s${tag} → ${Math.round(achieved)}/s, dropped ${r.dropped}${lagText}: ${ok ? 'sustained' : 'not sustained'}`,
      );
      return {
        rateRps: rate,
        achievedRps: achieved,
        p99Ms: lag,
        errorRate: r.scheduled ? (errors + r.dropped) / r.scheduled : 0,
        dropped: r.dropped,
        pass: ok,
      };
    },
    // Within the range, to within 4 %, in at most 7 probes.
    { ...range, maxProbes: 7, tolerance: 0.04 },
  );
  const best = found.rateRps > 0 ? details.get(found.rateRps) : undefined;
  return {
    probes,
    sustainedRps: best ? found.rateRps : 0,
    cpuMsPer1k: best ? round3(best.cpuMsPer1k) : 0,
    lagP99Ms: best ? best.lag : 0,
  };
}
