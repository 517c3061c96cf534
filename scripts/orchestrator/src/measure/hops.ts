import { request } from 'undici';
import type { Component } from '../backends/types.js';
import type { HopStats } from '../results-schema.js';
import {
  addSnapshots,
  type HistogramSnapshot,
  histogramOf,
  parsePrometheusText,
  quantile,
  subtract,
} from './exposition.js';

export type { HopStats } from '../results-schema.js';

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
        const res = await request(`${c.url}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
        const samples = parsePrometheusText(await res.body.text());
        snap.set(c.name, {
          request: histogramOf(samples, 'http_request_duration_seconds', isPredictRoute),
          inference: histogramOf(samples, 'model_inference_duration_seconds', () => true),
        });
      } catch {
        // The component is down (a fault scenario); its hop is reported from what was scraped.
      }
    }),
  );
  return snap;
}

const ms = (s: number) => Math.round(s * 1e6) / 1e3;

/** Server-side time per service over a window: replicas' histogram deltas merged, never averaged. */
export function hopsBetween(components: Component[], before: MetricsSnapshot, after: MetricsSnapshot) {
  const byService = new Map<string, { req: HistogramSnapshot; inf: HistogramSnapshot }>();
  for (const c of components) {
    const a = after.get(c.name);
    const b = before.get(c.name);
    if (!a || !b) continue;
    const dReq = subtract(a.request, b.request);
    const dInf = subtract(a.inference, b.inference);
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
      ...(inf.count ? { inferenceMeanMs: ms(inf.sum / inf.count) } : {}),
    };
  }
  return out;
}
