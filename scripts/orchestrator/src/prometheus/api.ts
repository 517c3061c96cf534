import { request } from 'undici';
import type { ServiceWindow } from '../results/index.js';

export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query against the Prometheus HTTP API; rejects with Prometheus's own error text. */
export async function instantQuery(baseUrl: string, expr: string, timeS?: number): Promise<VectorSample[]> {
  const params = new URLSearchParams({ query: expr });
  if (timeS !== undefined) params.set('time', timeS.toFixed(3));
  const res = await request(`${baseUrl}/api/v1/query?${params}`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const body = (await res.body.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success' || !body.data)
    throw new Error(`Prometheus query failed: ${body.error ?? res.statusCode}: ${expr}`);
  if (body.data.resultType !== 'vector') throw new Error(`expected a vector from ${expr}, got ${body.data.resultType}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

export type { ServiceWindow } from '../results/index.js';

/**
 * What Prometheus saw of one run: per service, requests answered, server-side p99 and CPU
 * over [start, end]. A cross-check of the numbers scraped directly, at Prometheus's
 * resolution (scrape interval, bucket boundaries, extrapolation at the window's edges).
 */
export async function runWindow(
  baseUrl: string,
  topology: string,
  startEpochMs: number,
  endEpochMs: number,
): Promise<Record<string, ServiceWindow>> {
  const window = `${Math.max(1, Math.round((endEpochMs - startEpochMs) / 1000))}s`;
  const at = endEpochMs / 1000;
  const sel = `topology="${topology}", route=~"/predict.*"`;
  const [counts, p99, cpu] = await Promise.all([
    instantQuery(baseUrl, `sum by (service) (increase(http_request_duration_seconds_count{${sel}}[${window}]))`, at),
    instantQuery(
      baseUrl,
      `histogram_quantile(0.99, sum by (service, le) (increase(http_request_duration_seconds_bucket{${sel}}[${window}])))`,
      at,
    ),
    instantQuery(
      baseUrl,
      `sum by (service) (increase(process_cpu_seconds_total{topology="${topology}"}[${window}]))`,
      at,
    ),
  ]);
  const out: Record<string, ServiceWindow> = {};
  for (const c of counts) {
    const service = c.metric.service ?? 'unknown';
    const q = p99.find((x) => x.metric.service === service)?.value;
    out[service] = {
      requests: Math.round(c.value),
      p99Ms: q === undefined || !Number.isFinite(q) ? null : Math.round(q * 1e6) / 1e3,
      cpuSeconds: Math.round((cpu.find((x) => x.metric.service === service)?.value ?? 0) * 1000) / 1000,
    };
  }
  return out;
}
