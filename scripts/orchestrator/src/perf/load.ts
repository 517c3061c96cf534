import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { DriverRunResult } from '../driver/types.js';
import { decodeHistogram, summarizeMs } from '../stats/histogram.js';
import { which } from '../sys/which.js';
import { BODY, here, type Server } from './servers.js';
import { type PerfOptions, spread } from './types.js';

const run = promisify(execFile);

interface ClosedLoop {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  cpuSeconds: number;
}

export type { ClosedLoop };

/** autocannon's closed-loop maximum against url (POST /predict), from its own pinned process. */
export async function closedLoop(url: string, o: PerfOptions, opts: { durationMs?: number; amount?: number } = {}) {
  const ac = {
    url: `${url}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: o.connections,
    pipelining: 1,
    ...(opts.amount ? { amount: opts.amount } : { duration: (opts.durationMs ?? o.durationMs) / 1000 }),
  };
  const taskset = o.pinning.driverCpus ? which('taskset') : undefined;
  const worker = here('./autocannon-worker.js');
  const [cmd, args] = taskset
    ? [taskset, ['-c', o.pinning.driverCpus!, process.execPath, worker, JSON.stringify(ac)]]
    : [process.execPath, [worker, JSON.stringify(ac)]];
  const { stdout } = await run(cmd, args, { timeout: 600_000, maxBuffer: 1 << 20, signal: o.signal });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as ClosedLoop;
  if (r.errors || r.non2xx) throw new Error(`autocannon against ${url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  return r;
}

/** Sides measured round-robin, `rounds` times: A B C A B C … */
export async function interleave<T>(o: PerfOptions, sides: Server[], measure: (s: Server) => Promise<T>) {
  const out = new Map<string, T[]>(sides.map((s) => [s.name, []]));
  for (let r = 0; r < o.rounds; r++)
    for (const s of sides) {
      if (o.signal.aborted) throw new Error('interrupted');
      out.get(s.name)!.push(await measure(s));
    }
  return out;
}

export const ratioSpread = (a: number[], b: number[]) => spread(a.map((x, i) => x / b[i]!));

export function openLoopSpec(url: string, rateRps: number, o: PerfOptions) {
  return {
    label: `perf ${rateRps}/s`,
    targets: [url],
    payload: { features: 8, batchSize: 1, seed: 42 },
    mode: {
      kind: 'open' as const,
      // Same connections as autocannon; arrivals finding them all busy wait on the client (timed from their
      // schedule) instead of being dropped, so "no drops" fails only at real saturation.
      maxInFlight: o.connections * 32,
      schedule: {
        executor: 'constant-arrival-rate' as const,
        ratePerMs: rateRps / 1000,
        durationMs: o.durationMs,
        arrival: 'constant' as const,
        seed: 1,
      },
    },
    connectionsPerTarget: o.connections,
    timeoutMs: 10_000,
    balancer: { kind: 'round-robin' as const },
  };
}

export const summary = (r: DriverRunResult) => summarizeMs(decodeHistogram(r.latency));
