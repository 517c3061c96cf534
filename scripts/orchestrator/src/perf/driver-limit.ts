import { searchCapacity } from '../capacity.js';
import type { DriverProcess } from '../driver/client.js';
import { decodeHistogram, round3, summarizeMs } from '../driver/histogram.js';
import { DriverPool } from '../driver/pool.js';
import type { DriverRunSpec, LoadDriver } from '../driver/types.js';
import { parseCpuList } from '../machine.js';
import { sampleProcess } from '../measure/procfs.js';
import { type ClosedLoop, closedLoop, openLoopSpec } from './load.js';
import type { Server } from './servers.js';
import { type PerfOptions, type PerfResults, spread } from './types.js';

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

  const one = await sustainedOpenLoop(o, driver, bare, acRps.median, '');
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
    const many = await sustainedOpenLoop(o, pool, bare, acRps.median, ` ×${workers} workers`);
    out.byWorkers = [
      { workers: 1, sustainedRps: one.sustainedRps, lagP99Ms: one.lagP99Ms, cpuMsPer1k: one.cpuMsPer1k },
      { workers, sustainedRps: many.sustainedRps, lagP99Ms: many.lagP99Ms, cpuMsPer1k: many.cpuMsPer1k },
    ];
  } finally {
    await pool.close();
  }
  return out;
}

/** The highest open-loop rate the driver holds on schedule against the bare server. */
async function sustainedOpenLoop(o: PerfOptions, driver: LoadDriver, bare: Server, acMedianRps: number, tag: string) {
  const probes: PerfResults['driver']['probes'] = [];
  const details = new Map<number, { cpuMsPer1k: number; lag: number }>();
  const found = await searchCapacity(
    async (rate) => {
      if (o.signal.aborted) throw new Error('interrupted');
      const { r, cpu } = await runWithCpu(driver, openLoopSpec(bare.url, rate, o));
      const achieved = r.completed / (Math.max(r.wallMs, r.scheduledMs) / 1000);
      const lag = summarizeMs(decodeHistogram(r.scheduleLag)).p99;
      // Sustained: on schedule (lag p99 ≤ 1 ms), within 1 % of the rate, nothing dropped or failed.
      const ok = achieved >= 0.99 * rate && r.dropped === 0 && r.ok === r.completed && lag <= 1;
      const errors = r.completed - r.ok;
      probes.push({
        rateRps: rate,
        achievedRps: Math.round(achieved),
        dropped: r.dropped,
        errors,
        lagP99Ms: lag,
        ok,
      });
      details.set(rate, { cpuMsPer1k: (cpu * 1e6) / Math.max(1, r.completed), lag });
      o.log(
        `  ${rate}/s${tag} → ${Math.round(achieved)}/s, dropped ${r.dropped}, lag p99 ${lag} ms: ${ok ? 'sustained' : 'not sustained'}`,
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
    // From 0.8× autocannon's maximum, up to 1.3×, to within 4 %, in at most 7 probes.
    {
      startRps: Math.round(acMedianRps * 0.8),
      minRps: Math.max(1, Math.round(acMedianRps * 0.05)),
      maxRps: Math.round(acMedianRps * 1.3),
      maxProbes: 7,
      tolerance: 0.04,
    },
  );
  const best = found.rateRps > 0 ? details.get(found.rateRps) : undefined;
  return {
    probes,
    sustainedRps: best ? found.rateRps : 0,
    cpuMsPer1k: best ? round3(best.cpuMsPer1k) : 0,
    lagP99Ms: best ? best.lag : 0,
  };
}
