// A load shape from loadtests/scenarios/*.json (the file the built-in driver reads too),
// turned into k6 scenarios: an optional warm-up, then "measure".
// Kept to syntax k6's TypeScript stripping understands: no enums, namespaces or decorators.
import type { Scenario as K6Scenario } from 'k6/options';

export interface Stage {
  target: number;
  duration: string;
}

export interface Shape {
  name: string;
  description?: string;
  executor: 'constant-arrival-rate' | 'ramping-arrival-rate' | 'constant-vus';
  rate?: number;
  timeUnit?: string;
  duration?: string;
  startRate?: number;
  stages?: Stage[];
  vus?: number;
  preAllocatedVUs?: number;
  maxVUs?: number;
  arrival?: 'constant' | 'poisson';
  warmup?: string;
  payload?: { features?: number; batchSize?: number; seed?: number };
  slo?: { p99Ms?: number; errorRate?: number };
  requestTimeout?: string;
}

/**
 * The scenario file's text: SCENARIO_FILE (absolute path, how mlbench passes a derived
 * shape) wins over the script's own file, which each script opens itself because k6
 * resolves open() against the entry script.
 */
export function parseShape(name: string, ownText: string): Shape {
  const text = __ENV.SCENARIO_FILE ? open(__ENV.SCENARIO_FILE) : ownText;
  let parsed: Omit<Shape, 'name'>;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`scenario ${__ENV.SCENARIO_FILE ?? name}: not JSON (${String(err)})`);
  }
  if (!parsed.executor) throw new Error(`scenario ${name}: no executor`);
  return { name, ...parsed };
}

/** Seconds in a k6 duration ("10s", "1m30s", "500ms"). */
export function seconds(d: string | undefined): number {
  if (!d) return 0;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m: RegExpExecArray | null = re.exec(d);
  while (m !== null) {
    const v = Number(m[1]);
    total += m[2] === 'ms' ? v / 1000 : m[2] === 's' ? v : m[2] === 'm' ? v * 60 : v * 3600;
    m = re.exec(d);
  }
  return total;
}

function measure(shape: Shape, startTime: string): K6Scenario {
  const common = { startTime, tags: { phase: 'measure' }, gracefulStop: shape.requestTimeout ?? '10s' };
  if (shape.executor === 'constant-vus')
    return { ...common, executor: 'constant-vus', vus: shape.vus ?? 10, duration: shape.duration ?? '10s' };
  const vus = { preAllocatedVUs: shape.preAllocatedVUs ?? 50, maxVUs: shape.maxVUs ?? 500 };
  if (shape.executor === 'ramping-arrival-rate')
    return {
      ...common,
      ...vus,
      executor: 'ramping-arrival-rate',
      startRate: shape.startRate ?? 0,
      timeUnit: shape.timeUnit ?? '1s',
      stages: shape.stages ?? [],
    };
  return {
    ...common,
    ...vus,
    executor: 'constant-arrival-rate',
    rate: shape.rate ?? 1,
    timeUnit: shape.timeUnit ?? '1s',
    duration: shape.duration ?? '10s',
  };
}

/** Mean arrival rate per second over the measured part (the warm-up runs at it). */
export function meanRate(shape: Shape): number {
  const unit = seconds(shape.timeUnit ?? '1s') || 1;
  if (shape.executor === 'constant-arrival-rate') return (shape.rate ?? 1) / unit;
  if (shape.executor !== 'ramping-arrival-rate') return 0;
  let from = shape.startRate ?? 0;
  let area = 0;
  let total = 0;
  for (const st of shape.stages ?? []) {
    const d = seconds(st.duration);
    area += ((from + st.target) / 2) * d;
    total += d;
    from = st.target;
  }
  return total ? area / total / unit : 0;
}

/**
 * k6 scenarios for a shape. WARMUP overrides the file's warm-up ("0s" when mlbench warms
 * up itself); the warm-up's requests carry phase=warmup and stay out of the thresholds.
 */
export function scenariosFor(shape: Shape): Record<string, K6Scenario> {
  const warmup = __ENV.WARMUP ?? shape.warmup ?? '0s';
  const out: Record<string, K6Scenario> = {};
  if (seconds(warmup) > 0 && shape.executor !== 'constant-vus')
    out.warmup = {
      executor: 'constant-arrival-rate',
      rate: Math.max(1, Math.round(meanRate(shape))),
      timeUnit: '1s',
      duration: warmup,
      preAllocatedVUs: shape.preAllocatedVUs ?? 50,
      maxVUs: shape.maxVUs ?? 500,
      tags: { phase: 'warmup' },
      gracefulStop: '0s',
    };
  out.measure = measure(shape, out.warmup ? warmup : '0s');
  return out;
}
