import { mulberry32 } from '@mlbench/model/random';

/** What a driver needs to know to place arrivals in time. */
export interface ScheduleSpec {
  executor: 'constant-arrival-rate' | 'ramping-arrival-rate';
  /** Arrivals per millisecond for constant-arrival-rate. */
  ratePerMs?: number;
  /** Piecewise-linear rate for ramping-arrival-rate, k6 semantics: from startRate to each target. */
  startRatePerMs?: number;
  stages?: { targetPerMs: number; durationMs: number }[];
  durationMs: number;
  arrival: 'constant' | 'poisson';
  seed: number;
}

/**
 * Scheduled send times in ms from the start, in order, ending at durationMs.
 * Constant arrivals are evenly spaced at the instantaneous rate (as k6 does);
 * Poisson arrivals draw exponential gaps from a seeded generator, so a run is repeatable.
 */
export function* arrivals(spec: ScheduleSpec): Generator<number> {
  const random = mulberry32(spec.seed);
  const gap = (rate: number) => (spec.arrival === 'poisson' ? -Math.log(1 - random()) / rate : 1 / rate);
  if (spec.executor === 'constant-arrival-rate') {
    const rate = spec.ratePerMs!;
    // Event i is at i/rate exactly (no accumulated float drift) for constant arrivals.
    if (spec.arrival === 'constant') {
      for (let i = 0; ; i++) {
        const t = i / rate;
        if (t >= spec.durationMs) return;
        yield t;
      }
    }
    for (let t = 0; t < spec.durationMs; t += gap(rate)) yield t;
    return;
  }
  // Ramping: integrate the piecewise-linear rate; an arrival happens each time the
  // integral crosses the next (unit or exponential) threshold.
  let stageStart = 0;
  let from = spec.startRatePerMs ?? 0;
  let need = spec.arrival === 'poisson' ? -Math.log(1 - random()) : 1;
  let acc = 0;
  const step = 0.05; // ms resolution of the integration
  for (const stage of spec.stages ?? []) {
    const to = stage.targetPerMs;
    for (let local = 0; local < stage.durationMs; local += step) {
      const rate = from + ((to - from) * (local + step / 2)) / stage.durationMs;
      acc += rate * step;
      while (acc >= need) {
        acc -= need;
        need = spec.arrival === 'poisson' ? -Math.log(1 - random()) : 1;
        yield stageStart + local;
      }
    }
    stageStart += stage.durationMs;
    from = to;
  }
}

export function expectedArrivals(spec: ScheduleSpec): number {
  if (spec.executor === 'constant-arrival-rate') return spec.ratePerMs! * spec.durationMs;
  let from = spec.startRatePerMs ?? 0;
  let total = 0;
  for (const s of spec.stages ?? []) {
    total += ((from + s.targetPerMs) / 2) * s.durationMs;
    from = s.targetPerMs;
  }
  return total;
}
