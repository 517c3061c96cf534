import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import t from 'tap';
import { FastHistogram } from '../src/fast-histogram.js';
import { LATENCY_BUCKETS_SECONDS } from '../src/metrics.js';

/** The same observations through prom-client's Histogram and ours, each in its own registry. */
async function expositions(observations: { route: string; status: number; value: number }[], stockToo = true) {
  const make = (Kind: typeof Histogram) => {
    const registry = new Registry();
    registry.setDefaultLabels({ replica: 'r-1' });
    const h = new Kind({
      name: 'http_request_duration_seconds',
      help: 'Server-side time',
      labelNames: ['route', 'status_code'] as const,
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    });
    return { registry, h };
  };
  const stock = make(Histogram);
  const fast = make(FastHistogram as unknown as typeof Histogram);
  for (const o of observations) {
    const labels = { route: o.route, status_code: o.status };
    if (stockToo) stock.h.labels(labels).observe(o.value);
    fast.h.labels(labels).observe(o.value);
  }
  return {
    stock: await stock.registry.metrics(),
    fast: await fast.registry.metrics(),
    stockJson: await stock.registry.getMetricsAsJSON(),
    fastJson: await fast.registry.getMetricsAsJSON(),
  };
}

t.test('exposition is byte-identical to prom-client’s Histogram for the same observations', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          route: fc.constantFrom('/predict', '/predict/batch', 'unmatched', 'a "quoted"\\route'),
          status: fc.constantFrom(200, 400, 413, 503),
          // Exactly on bucket bounds too: `le` means less than or equal.
          value: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(...LATENCY_BUCKETS_SECONDS)),
        }),
        { maxLength: 200 },
      ),
      async (observations) => {
        const e = await expositions(observations);
        t.equal(e.fast, e.stock);
        t.same(e.fastJson, e.stockJson);
      },
    ),
    { numRuns: 50 },
  );
});

t.test('a bound child shows its series at zero before the first observation; reset clears it', async (t) => {
  const registry = new Registry();
  const h = new FastHistogram({
    name: 'x_seconds',
    help: 'x',
    labelNames: ['service'],
    buckets: [0.1, 1],
    registers: [registry],
  });
  const child = h.labels('monolith');
  t.match(await registry.metrics(), /x_seconds_count\{service="monolith"\} 0/);
  child.observe(0.5);
  child.observe(5);
  const text = await registry.metrics();
  t.match(text, /x_seconds_bucket\{le="0.1",service="monolith"\} 0/);
  t.match(text, /x_seconds_bucket\{le="1",service="monolith"\} 1/);
  t.match(text, /x_seconds_bucket\{le="\+Inf",service="monolith"\} 2/);
  t.match(text, /x_seconds_sum\{service="monolith"\} 5.5/);
  t.equal(h.labels({ service: 'monolith' }), child, 'the same labels give the same child');
  t.throws(() => child.observe(Number.NaN), /not a valid number/);
  h.reset();
  t.match(await registry.metrics(), /x_seconds_count\{service="monolith"\} 0/);
});
