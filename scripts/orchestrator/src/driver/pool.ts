import { sampleProcess } from '../sys/procfs.js';
import { mergeResults, shareSpec } from './merge.js';
import type { DriverProgress, DriverRunResult, DriverRunSpec, LoadDriver } from './types.js';
import { DriverProcess } from './worker-process.js';

/**
 * The built-in driver across several processes (--driver-workers N), each pinned to a CPU of
 * its own where the list has enough: one Node process sends at most what one core can
 * (make perf measures it), so a machine with cores to spare can drive more. Every worker
 * sends a disjoint, interleaved share of the one schedule from a shared wall-clock start;
 * their results merge into one (merge.ts), with each worker's lag, drops and CPU kept.
 */
export class DriverPool implements LoadDriver {
  readonly workers: DriverProcess[];

  constructor(opts: { workers: number; cpus?: string[] | undefined; runId: string }) {
    this.workers = Array.from(
      { length: opts.workers },
      (_, i) =>
        new DriverProcess({
          cpus: opts.cpus?.length ? opts.cpus[i % opts.cpus.length] : undefined,
          runId: opts.runId,
        }),
    );
  }

  get pid(): number | undefined {
    return this.workers[0]?.pid;
  }

  /** Every worker's pid: the driver's CPU is theirs summed. */
  get pids(): number[] {
    return this.workers.map((w) => w.pid).filter((p): p is number => p !== undefined);
  }

  async run(spec: DriverRunSpec, onProgress?: (p: DriverProgress) => void): Promise<DriverRunResult> {
    const n = this.workers.length;
    if (n === 1) return this.workers[0]!.run(spec, onProgress);
    // Far enough ahead that every worker has its spec before the first arrival is due.
    const startAt = Date.now() + 50;
    const latest: (DriverProgress | undefined)[] = new Array(n);
    const report = () => {
      const ps = latest.filter((p): p is DriverProgress => p !== undefined);
      if (!onProgress || ps.length === 0) return;
      onProgress({
        label: spec.label,
        elapsedMs: Math.max(...ps.map((p) => p.elapsedMs)),
        totalMs: ps[0]!.totalMs,
        sent: ps.reduce((a, p) => a + p.sent, 0),
        completed: ps.reduce((a, p) => a + p.completed, 0),
        errors: ps.reduce((a, p) => a + p.errors, 0),
        dropped: ps.reduce((a, p) => a + p.dropped, 0),
        rate: ps.reduce((a, p) => a + p.rate, 0),
        // The workers' windows differ: the worst of them, an upper bound of the merged p99.
        p99Ms: Math.max(...ps.map((p) => p.p99Ms)),
      });
    };
    const before = this.workers.map((w) => sampleProcess(w.pid)?.cpuSeconds);
    const parts = await Promise.all(
      this.workers.map((w, i) =>
        w.run(shareSpec(spec, i, n, startAt), (p) => {
          latest[i] = p;
          if (i === 0) report();
        }),
      ),
    );
    const cpu = this.workers.map((w, i) => {
      const a = sampleProcess(w.pid)?.cpuSeconds;
      const b = before[i];
      return a !== undefined && b !== undefined ? Number((a - b).toFixed(3)) : undefined;
    });
    return mergeResults(parts, cpu);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
