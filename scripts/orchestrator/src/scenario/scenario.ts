import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDuration } from '../sys/duration.js';
import { SCENARIO_DIR } from '../sys/repo.js';

/**
 * A load shape, in k6's own vocabulary so the same JSON drives k6 scripts and the
 * built-in driver. Extra fields (arrival, warmup, payload, slo) are ours; k6 ignores them.
 */
const Stage = Type.Object(
  { target: Type.Number({ minimum: 0 }), duration: Type.String() },
  { additionalProperties: false },
);

export const ScenarioSchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    executor: Type.Union([
      Type.Literal('constant-arrival-rate'),
      Type.Literal('ramping-arrival-rate'),
      Type.Literal('constant-vus'),
    ]),
    /** constant-arrival-rate: iterations per timeUnit. */
    rate: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    timeUnit: Type.String({ default: '1s' }),
    duration: Type.Optional(Type.String()),
    /** ramping-arrival-rate */
    startRate: Type.Optional(Type.Number({ minimum: 0 })),
    stages: Type.Optional(Type.Array(Stage, { minItems: 1 })),
    /** constant-vus (closed loop, for contrast only) */
    vus: Type.Optional(Type.Integer({ minimum: 1 })),
    preAllocatedVUs: Type.Integer({ minimum: 1, default: 50 }),
    maxVUs: Type.Integer({ minimum: 1, default: 500 }),
    /** Arrival process for arrival-rate executors: k6 spaces them evenly; poisson is ours. */
    arrival: Type.Union([Type.Literal('constant'), Type.Literal('poisson')], { default: 'constant' }),
    seed: Type.Integer({ default: 1 }),
    warmup: Type.String({ default: '2s' }),
    payload: Type.Object(
      {
        features: Type.Integer({ minimum: 1, maximum: 16_384, default: 8 }),
        batchSize: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
        seed: Type.Integer({ default: 42 }),
      },
      { default: {}, additionalProperties: false },
    ),
    slo: Type.Object(
      {
        p99Ms: Type.Number({ exclusiveMinimum: 0, default: 25 }),
        errorRate: Type.Number({ minimum: 0, maximum: 1, default: 0.001 }),
      },
      { default: {}, additionalProperties: false },
    ),
    requestTimeout: Type.String({ default: '10s' }),
  },
  { additionalProperties: false },
);
export type ScenarioFile = Static<typeof ScenarioSchema>;

export interface Scenario extends ScenarioFile {
  name: string;
  timeUnitMs: number;
  durationMs: number;
  warmupMs: number;
  requestTimeoutMs: number;
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/** Validate a parsed scenario and derive its durations; every problem names the field. */
export function toScenario(name: string, raw: unknown): Scenario {
  const fail = (why: string): never => {
    throw new ScenarioError(`scenario ${name}: ${why}`);
  };
  const withDefaults = Value.Default(ScenarioSchema, structuredClone(raw));
  const first = Value.Errors(ScenarioSchema, withDefaults).First();
  if (first) fail(`${first.path || '(root)'} ${first.message}`);
  const s = withDefaults as ScenarioFile;
  const dur = (field: string, v: string) => {
    try {
      return parseDuration(v);
    } catch (err) {
      return fail(`${field}: ${(err as Error).message}`);
    }
  };
  let durationMs: number;
  if (s.executor === 'ramping-arrival-rate') {
    if (!s.stages) fail('ramping-arrival-rate needs "stages"');
    durationMs = s.stages!.reduce((t, st, i) => t + dur(`stages/${i}/duration`, st.duration), 0);
  } else {
    if (!s.duration) fail(`${s.executor} needs "duration"`);
    durationMs = dur('duration', s.duration!);
    if (s.executor === 'constant-arrival-rate' && s.rate === undefined) fail('constant-arrival-rate needs "rate"');
    if (s.executor === 'constant-vus' && s.vus === undefined) fail('constant-vus needs "vus"');
  }
  if (s.maxVUs < s.preAllocatedVUs) fail('maxVUs must be at least preAllocatedVUs');
  if (durationMs <= 0) fail('duration must be positive');
  return {
    ...s,
    name,
    timeUnitMs: dur('timeUnit', s.timeUnit),
    durationMs,
    warmupMs: dur('warmup', s.warmup),
    requestTimeoutMs: dur('requestTimeout', s.requestTimeout),
  };
}

/** Load by name (from loadtests/scenarios) or by path to a .json file. */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/');
  const path = isPath ? resolve(nameOrPath) : join(SCENARIO_DIR, `${nameOrPath}.json`);
  const name = isPath ? path.replace(/^.*\//, '').replace(/\.json$/, '') : nameOrPath;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(
      `cannot read scenario ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`scenario ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return toScenario(name, raw);
}

/** The same scenario at another constant rate and length (capacity probes, sweeps). */
export function atRate(s: Scenario, ratePerSecond: number, durationMs: number, warmupMs = s.warmupMs): Scenario {
  return {
    ...s,
    executor: 'constant-arrival-rate',
    rate: ratePerSecond,
    timeUnit: '1s',
    timeUnitMs: 1000,
    duration: `${durationMs}ms`,
    durationMs,
    warmupMs,
    stages: undefined,
  };
}
