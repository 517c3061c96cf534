import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../sys/duration.js';
import type { ServiceName, Topology } from './types.js';

/**
 * A deployment file for `--backend command`: how to start one replica of each service of
 * each topology, with placeholders mlbench fills per replica. YAML or JSON, checked against
 * this schema; an error names the field.
 */

export const PLACEHOLDERS = ['port', 'host', 'replica', 'name', 'upstreams', 'model', 'dir'] as const;

/** One running replica of a service `--backend external` measures (and never starts or stops). */
const Endpoint = Type.Object(
  {
    /** Where load goes (entry services: the monolith, the gateway). */
    url: Type.Optional(Type.String({ pattern: '^https?://[^/]+/?$' })),
    /** Its Prometheus /metrics (base URL or the full /metrics URL), for per-hop server time. */
    metrics: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Its process, for CPU and memory from /proc. */
    pid: Type.Optional(Type.Integer({ minimum: 2 })),
    /** Or its Docker container: the container's main process is sampled. */
    container: Type.Optional(Type.String({ minLength: 1 })),
    /** Histogram names when not ours (http_request_duration_seconds, model_inference_duration_seconds). */
    histograms: Type.Optional(
      Type.Object(
        {
          request: Type.Optional(Type.String({ minLength: 1 })),
          inference: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Service = Type.Object(
  {
    /** --backend command: argv of one replica (no shell), e.g. ["/usr/bin/python3", "app.py", "--port", "{port}"]. */
    command: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    /** --backend external: the replicas already running (their number is stated, never changed). */
    at: Type.Optional(Type.Array(Endpoint, { minItems: 1 })),
    /** Working directory, relative to the deployment file (default: its directory). */
    cwd: Type.Optional(Type.String({ minLength: 1 })),
    env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String())),
    /** Ready when the port accepts connections (default), or when GET path answers 2xx. */
    ready: Type.Optional(
      Type.Union([
        Type.Literal('port'),
        Type.Object({ http: Type.String({ pattern: '^/' }) }, { additionalProperties: false }),
      ]),
    ),
    /** How many run: the --replicas count, the --gateways count, or always one. */
    scales: Type.Optional(Type.Union([Type.Literal('replicas'), Type.Literal('gateways'), Type.Literal('fixed')])),
  },
  { additionalProperties: false },
);

export const DeploymentFileSchema = Type.Object(
  {
    /** Recorded as every run's `implementation` (default: the file's name without extension). */
    name: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,60}$' })),
    description: Type.Optional(Type.String()),
    /**
     * Path the load generator's client-side balancer checks on entry replicas (as it checks
     * /readyz on ours); null: no active checks, passive ejection only (default).
     */
    health: Type.Optional(Type.Union([Type.String({ pattern: '^/' }), Type.Null()])),
    /** How long a replica may take to become ready (default 30s). */
    startTimeout: Type.Optional(Type.String()),
    monolith: Type.Optional(Type.Object({ monolith: Service }, { additionalProperties: false })),
    microservices: Type.Optional(
      Type.Object({ gateway: Service, prediction: Service }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export type ServiceSpec = Static<typeof Service>;
export type EndpointSpec = Static<typeof Endpoint>;
export type DeploymentKind = 'command' | 'external';
export type DeploymentFileData = Static<typeof DeploymentFileSchema>;

export interface DeploymentFile extends DeploymentFileData {
  /** Absolute path of the file. */
  file: string;
  /** Its directory: the default cwd and {dir}. */
  dir: string;
  implementation: string;
  startTimeoutMs: number;
}

const fieldOf = (path: string) => path.replace(/^\//, '').replaceAll('/', '.') || '(top level)';

/** Placeholders a string uses that are not known: each an error naming its field. */
function checkPlaceholders(data: DeploymentFileData, file: string): void {
  const known = new Set<string>(PLACEHOLDERS);
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/\{([^{}]*)\}/g))
        if (!known.has(m[1]!))
          throw new Error(
            `${file}: ${path}: unknown placeholder {${m[1]}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
          );
    } else if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, `${path}.${i}`);
    } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  for (const t of ['monolith', 'microservices'] as const) if (data[t]) walk(data[t], t);
}

/** Every service has what its backend needs: a command to start, or the replicas to find. */
function checkKind(d: DeploymentFileData, file: string, kind: DeploymentKind): void {
  for (const t of ['monolith', 'microservices'] as const) {
    const services = d[t] as Record<string, ServiceSpec> | undefined;
    for (const [role, spec] of Object.entries(services ?? {})) {
      const field = `${t}.${role}`;
      if (kind === 'command' && !spec.command)
        throw new Error(`${file}: ${field}.command: missing (--backend command starts each replica from it)`);
      if (kind === 'external' && !spec.at)
        throw new Error(`${file}: ${field}.at: missing (--backend external measures the replicas listed there)`);
      if (kind === 'external' && role !== 'prediction')
        spec.at!.forEach((e, i) => {
          if (!e.url) throw new Error(`${file}: ${field}.at.${i}.url: missing (load goes to the ${role})`);
        });
    }
  }
}

export function checkDeploymentFile(data: unknown, file: string, kind: DeploymentKind = 'command'): DeploymentFile {
  const first = Value.Errors(DeploymentFileSchema, data).First();
  if (first) {
    const got = first.value === undefined ? 'missing' : JSON.stringify(first.value)?.slice(0, 60);
    throw new Error(`${file}: ${fieldOf(first.path)}: ${first.message} (got ${got})`);
  }
  const d = data as DeploymentFileData;
  if (!d.monolith && !d.microservices) throw new Error(`${file}: describes neither monolith nor microservices`);
  checkKind(d, file, kind);
  checkPlaceholders(d, file);
  if (
    kind === 'command' &&
    d.microservices &&
    !d.microservices.gateway.command!.some((a) => a.includes('{upstreams}')) &&
    !Object.values(d.microservices.gateway.env ?? {}).some((v) => v.includes('{upstreams}'))
  )
    throw new Error(
      `${file}: microservices.gateway: nothing uses {upstreams}, so the gateway cannot reach the prediction replicas`,
    );
  let startTimeoutMs = 30_000;
  if (d.startTimeout !== undefined) {
    try {
      startTimeoutMs = parseDuration(d.startTimeout);
    } catch (err) {
      throw new Error(`${file}: startTimeout: ${(err as Error).message}`);
    }
  }
  const abs = resolve(file);
  return {
    ...d,
    file: abs,
    dir: dirname(abs),
    implementation: d.name ?? basename(abs, extname(abs)),
    startTimeoutMs,
  };
}

export async function loadDeploymentFile(file: string, kind: DeploymentKind = 'command'): Promise<DeploymentFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read deployment file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(
      `${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return checkDeploymentFile(data, file, kind);
}

/** The services of a topology, in start order (upstreams first), with their roles. */
export function servicesOf(d: DeploymentFile, topology: Topology): [ServiceName, ServiceSpec][] | undefined {
  if (topology === 'monolith') return d.monolith ? [['monolith', d.monolith.monolith]] : undefined;
  return d.microservices
    ? [
        ['prediction', d.microservices.prediction],
        ['gateway', d.microservices.gateway],
      ]
    : undefined;
}

/** A string with its placeholders filled. */
export function fill(text: string, values: Record<(typeof PLACEHOLDERS)[number], string>): string {
  return text.replace(/\{([a-z]+)\}/g, (m, k: string) => (k in values ? values[k as keyof typeof values] : m));
}
