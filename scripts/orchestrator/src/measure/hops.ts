import { request } from 'undici';
import { type Component, metricsUrlOf } from '../backends/types.js';
import type { HopStats } from '../results/index.js';
import {
  addSnapshots,
  type HistogramSnapshot,
  histogramOf,
  parsePrometheusText,
  quantile,
  subtract,
} from '../stats/exposition.js';

export type { HopStats } from '../results/index.js';

interface ComponentSnapshot {
  request: HistogramSnapshot;
  inference: HistogramSnapshot;
}

export type MetricsSnapshot = Map<string, ComponentSnapshot>;

const isPredictRoute = (l: Record<string, string>) => (l.route ?? '').startsWith('/predict');

/** Scrape every component's /metrics (in parallel; a failed scrape leaves that component out). */
export async function scrapeAll(components: Component[]): Promise<MetricsSnapshot> {
  const snap: MetricsSnapshot = new Map();
  await Promise.all(
    components.map(async (c) => {
      try {
        const res = await request(`${metricsUrlOf(c)}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
        if (res.statusCode !== 200) {
          await res.body.dump();
          return;
        }
        const samples = parsePrometheusText(await res.body.text());
        // Another stack's histogram (mapped by name) is taken whole: its route labels are its own.
        const req = c.histograms?.request;
        snap.set(c.name, {
          request: histogramOf(samples, req ?? 'http_request_duration_seconds', req ? () => true : isPredictRoute),
          inference: histogramOf(samples, c.histograms?.inference ?? 'model_inference_duration_seconds', () => true),
        });
      } catch {
        // The component is down (a fault scenario); its hop is reported from what was scraped.
      }
    }),
  );
  return snap;
}

const ms = (s: number) => Math.round(s * 1e6) / 1e3;

/** Finite cumulative buckets in ms, ascending (the count above the last is requests − its count). */
export function bucketsMsOf(h: HistogramSnapshot): [number, number][] {
  return [...h.buckets]
    .filter(([le]) => Number.isFinite(le))
    .sort((a, b) => a[0] - b[0])
    .map(([le, n]) => [ms(le), n]);
}

/** Server-side time per service over a window: replicas' histogram deltas merged, never averaged. */
export function hopsBetween(components: Component[], before: MetricsSnapshot, after: MetricsSnapshot) {
  const byService = new Map<string, { req: HistogramSnapshot; inf: HistogramSnapshot }>();
  const missing = new Map<string, string[]>();
  const resets = new Map<string, string[]>();
  const note = (m: Map<string, string[]>, service: string, name: string) =>
    m.set(service, [...(m.get(service) ?? []), name]);
  for (const c of components) {
    const a = after.get(c.name);
    const b = before.get(c.name);
    // Gone by the end of the window (killed, scaled away): its requests cannot be counted.
    if (!a) {
      if (b) note(missing, c.service, c.name);
      continue;
    }
    // Counters that went down belong to a new process (a restart): what it counted since is
    // the window's share, as Prometheus's rate() reads a reset. New in the window: all of it.
    const reset = b !== undefined && (a.request.count < b.request.count || a.inference.count < b.inference.count);
    if (reset) note(resets, c.service, c.name);
    const dReq = b && !reset ? subtract(a.request, b.request) : a.request;
    const dInf = b && !reset ? subtract(a.inference, b.inference) : a.inference;
    const acc = byService.get(c.service);
    byService.set(
      c.service,
      acc ? { req: addSnapshots(acc.req, dReq), inf: addSnapshots(acc.inf, dInf) } : { req: dReq, inf: dInf },
    );
  }
  const out: Record<string, HopStats> = {};
  for (const [service, { req, inf }] of byService) {
    out[service] = {
      requests: req.count,
      meanMs: req.count ? ms(req.sum / req.count) : 0,
      p50Ms: ms(quantile(req, 0.5)),
      p99Ms: ms(quantile(req, 0.99)),
      ...(req.count ? { bucketsMs: bucketsMsOf(req) } : {}),
      ...(inf.count ? { inferenceMeanMs: ms(inf.sum / inf.count) } : {}),
      ...(missing.has(service) ? { missing: missing.get(service) } : {}),
      ...(resets.has(service) ? { resets: resets.get(service) } : {}),
    };
  }
  for (const [service, names] of missing)
    out[service] ??= { requests: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, missing: names };
  return out;
}
