import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables every service reads; service-specific ones extend this. */
export const baseConfigProperties = {
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535 }),
  /**
   * Serve /metrics on a port of its own (and not on PORT). The entry tiers' PORT is public;
   * their metrics name internal replicas and process internals, for the monitoring network
   * only. The images set 9464; unset, /metrics is on PORT (the process backend: all loopback).
   */
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  /** Where the metrics port listens; defaults to HOST. */
  METRICS_HOST: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'warn' },
  ),
  REPLICA_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 1024 * 1024 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
  KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 72_000 }),
  REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 30_000 }),
  /** A client must send its whole request head within this (slow-loris guard); at most REQUEST_TIMEOUT_MS. */
  HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  /** Load shedding: answer 503 + Retry-After while the event loop lags more than this (mean over a sample). */
  SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 200 }),
  /**
   * …or while the event loop has been busy more than this share of the time (0–1) for
   * 1.5 s. A saturated server whose backlog waits in socket buffers shows this, not a late
   * event loop. Off (0) by default: where several processes share a core, a process that
   * merely waits for the CPU reads as busy (measured here: a replica restarting next to the
   * gateway made the gateway shed 1000 requests); enable it (0.98) where each service has
   * its own cores, as with container CPU limits.
   */
  SHED_EVENT_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  /**
   * …or while the V8 heap holds more than this; 0 disables the check. Unset: 60 % of the
   * container's memory limit where there is one (a fixed 512 could never fire under a
   * 256 MB limit: the kernel kills first), else 512.
   */
  SHED_HEAP_USED_MB: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_536 })),
  /** off: no per-request histogram (/metrics still serves process metrics); to measure what instrumentation costs. */
  REQUEST_METRICS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  /** Set by mlbench: the service exits when that parent is gone, so no replica outlives a crashed harness. */
  MLBENCH_PARENT_PID: Type.Optional(Type.Integer({ minimum: 1 })),
};

export const BaseConfig = Type.Object(baseConfigProperties);
export type BaseConfig = Static<typeof BaseConfig>;

/**
 * Read and validate configuration from an environment. Unknown variables are ignored;
 * the first bad or missing one is reported as one line naming it.
 */
export function loadConfig<P extends TProperties>(
  schema: TObject<P>,
  env: NodeJS.ProcessEnv = process.env,
): Static<TObject<P>> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const first = Value.Errors(schema, converted).First();
  if (first) {
    const name = first.path.replace(/^\//, '').split('/')[0] || '(environment)';
    const given = raw[name];
    const shown = given === undefined ? 'it is not set' : `got ${JSON.stringify(given)}`;
    throw new ConfigError(`invalid environment variable ${name}: ${first.message} (${shown})`);
  }
  return converted as Static<TObject<P>>;
}
