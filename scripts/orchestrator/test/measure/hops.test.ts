import t from 'tap';
import type { Component } from '../../src/backends/types.js';
import { hopsBetween, type MetricsSnapshot } from '../../src/measure/hops.js';
import { histogramOf, parsePrometheusText } from '../../src/stats/exposition.js';

/** A replica's /metrics after `n` requests of 1.5 ms each (all in the 2 ms bucket). */
const text = (n: number) => `http_request_duration_seconds_bucket{le="0.001",route="/predict"} 0
http_request_duration_seconds_bucket{le="0.002",route="/predict"} ${n}
http_request_duration_seconds_bucket{le="+Inf",route="/predict"} ${n}
http_request_duration_seconds_sum{route="/predict"} ${n * 0.0015}
http_request_duration_seconds_count{route="/predict"} ${n}
`;
const snapshot = (counts: Record<string, number>): MetricsSnapshot =>
  new Map(
    Object.entries(counts).map(([name, n]) => {
      const samples = parsePrometheusText(text(n));
      return [
        name,
        {
          request: histogramOf(samples, 'http_request_duration_seconds', () => true),
          inference: histogramOf(samples, 'model_inference_duration_seconds', () => true),
        },
      ];
    }),
  );
const replicas: Component[] = ['prediction-1', 'prediction-2', 'prediction-3'].map((name) => ({
  name,
  service: 'prediction',
  url: 'http://127.0.0.1:1',
}));

t.test('per-hop deltas: a restarted replica counts from its restart, a vanished one is named', async (t) => {
  // prediction-1 served 1000 → 1600; prediction-2 restarted (its counters began again at 0
  // and reached 250); prediction-3 was there at the start and gone at the end.
  const before = snapshot({ 'prediction-1': 1000, 'prediction-2': 900, 'prediction-3': 400 });
  const after = snapshot({ 'prediction-1': 1600, 'prediction-2': 250 });
  const hop = hopsBetween(replicas, before, after).prediction!;
  t.equal(hop.requests, 600 + 250, 'never a negative delta from a reset');
  t.equal(hop.meanMs, 1.5);
  t.ok(hop.p99Ms > 1 && hop.p99Ms <= 2, `p99 ${hop.p99Ms} ms inside the 1–2 ms bucket`);
  t.same(hop.resets, ['prediction-2']);
  t.same(hop.missing, ['prediction-3'], 'its requests are not in the figures, and the result says so');
});

t.test('a replica new in the window counts in full; a steady one has no notes', async (t) => {
  const hop = hopsBetween(
    replicas.slice(0, 2),
    snapshot({ 'prediction-1': 10 }),
    snapshot({ 'prediction-1': 30, 'prediction-2': 5 }),
  ).prediction!;
  t.equal(hop.requests, 25);
  t.equal(hop.resets, undefined);
  t.equal(hop.missing, undefined);
});
