import { seededRandom } from '../stats/bootstrap.js';
import type { Sampler } from './distribution.js';

/**
 * A tier of identical replicas. Each replica holds `servers` servers (event loops, workers)
 * in front of one FIFO queue; how arrivals reach replicas is the balancer's policy:
 * - round-robin: arrival k goes to replica k mod n (the client-side balancing of the process
 *   backend, and the gateway's default policy); each replica queues its own;
 * - shared-queue: one queue for every server of the tier (M/M/c and M/D/c; a core pool).
 */
export interface Station {
  name: string;
  replicas: number;
  servers: number;
  /** How long a request holds a server (ms). */
  occupancy: Sampler;
  /** Mean of `occupancy` (ms), for the utilization. */
  meanOccupancyMs: number;
  dispatch: 'round-robin' | 'shared-queue';
}

export interface SimulationInput {
  /** Arrivals per second. */
  rateRps: number;
  arrival: 'poisson' | 'constant';
  /** Visited in order: a request leaves one station and arrives at the next. */
  stations: Station[];
  /** Latency a request has with no queue anywhere (ms), drawn per request; default 0. */
  base?: Sampler;
  /**
   * The base's stalls: where it was measured (its median and the busiest station's
   * utilization then). A request's base above the median is taken for a stall (the core
   * held by another process, a collector, a timer); the arrivals behind a stall drain at
   * 1 − ρ, so a stall measured at ρ₀ costs (1 − ρ₀)/(1 − ρ) as much at ρ (the busy-period
   * argument of queues with server interruptions). Absent: the base is added as drawn.
   */
  stalls?: { medianMs: number; utilization: number };
  /** Count the time in service at every station too (the response time of the textbook queues). */
  countService?: boolean;
  /** Fixed latency added to every request (network round trips), ms. */
  fixedMs?: number;
  requests: number;
  /** Leading requests left out of the percentiles (the empty system's start). */
  warmup?: number;
  seed?: number;
}

export interface StationOutcome {
  name: string;
  utilization: number;
  meanWaitMs: number;
  p99WaitMs: number;
}

export interface SimulationResult {
  /** Utilization under 1 at every station; otherwise queues grow without bound. */
  stable: boolean;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Per station: utilization, mean wait and p99 wait (ms). */
  stations: StationOutcome[];
}

function quantileOf(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  // Nearest rank, as the driver's HdrHistogram reads a percentile.
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Index of the smallest entry (a replica's c servers are few: a scan beats a heap). */
function earliest(free: Float64Array, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (free[i]! < free[best]!) best = i;
  return best;
}

/**
 * A discrete-event simulation of open-loop arrivals through the stations in tandem, by the
 * Kiefer–Wolfowitz recursion (each server's next free time; an arrival takes its replica's
 * earliest free server, FIFO). A request's latency is its base draw, plus its waits at every
 * station, plus the fixed time. Seeded: the same input gives the same result.
 */
export function simulate(input: SimulationInput): SimulationResult {
  const n = input.requests;
  if (!(n > 0) || !(input.rateRps > 0)) throw new Error('simulate: requests and rateRps must be positive');
  const rng = seededRandom(input.seed ?? 1);
  const gap = 1000 / input.rateRps;
  const at = new Float64Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += input.arrival === 'poisson' ? -gap * Math.log(1 - rng()) : gap;
    at[i] = t;
  }
  const warmup = Math.min(input.warmup ?? Math.floor(n / 20), n - 1);
  const latency = new Float64Array(n);
  const outcomes: StationOutcome[] = [];
  let stable = true;
  let order = Array.from({ length: n }, (_, i) => i);
  for (const s of input.stations) {
    const utilization = (input.rateRps * s.meanOccupancyMs) / 1000 / (s.replicas * s.servers);
    if (utilization >= 1) stable = false;
    const free = new Float64Array(s.replicas * s.servers);
    const waits = new Float64Array(n - warmup);
    let waitSum = 0;
    let k = 0;
    for (const i of order) {
      const [from, to] =
        s.dispatch === 'shared-queue'
          ? [0, free.length]
          : [(k % s.replicas) * s.servers, ((k % s.replicas) + 1) * s.servers];
      k++;
      const j = earliest(free, from, to);
      const start = Math.max(at[i]!, free[j]!);
      const wait = start - at[i]!;
      const held = s.occupancy(rng);
      free[j] = start + held;
      latency[i]! += input.countService ? wait + held : wait;
      // The next station sees the request when this one has served it.
      at[i] = free[j]!;
      if (i >= warmup) {
        waits[i - warmup] = wait;
        waitSum += wait;
      }
    }
    waits.sort();
    outcomes.push({
      name: s.name,
      utilization,
      meanWaitMs: waitSum / waits.length,
      p99WaitMs: quantileOf(waits, 0.99),
    });
    // FIFO at the next station is in order of arrival there.
    if (input.stations.length > 1) order = order.slice().sort((a, b) => at[a]! - at[b]!);
  }
  const kept = new Float64Array(n - warmup);
  let sum = 0;
  const busiest = Math.min(0.999, Math.max(0, ...outcomes.map((o) => o.utilization)));
  const stall = input.stalls ? (1 - Math.min(0.999, input.stalls.utilization)) / (1 - busiest) : 1;
  const median = input.stalls?.medianMs ?? 0;
  for (let i = warmup; i < n; i++) {
    const b = input.base ? input.base(rng) : 0;
    const v = latency[i]! + b + (b > median ? (b - median) * (stall - 1) : 0) + (input.fixedMs ?? 0);
    kept[i - warmup] = v;
    sum += v;
  }
  kept.sort();
  return {
    stable,
    meanMs: sum / kept.length,
    p50Ms: quantileOf(kept, 0.5),
    p90Ms: quantileOf(kept, 0.9),
    p99Ms: quantileOf(kept, 0.99),
    p999Ms: quantileOf(kept, 0.999),
    stations: outcomes,
  };
}
