import t from 'tap';
import { unexplainedLatency } from '../../src/measure/run.js';
import { histogramOf, parsePrometheusText, quantile, subtract } from '../../src/stats/exposition.js';
import {
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  newHistogram,
  summarizeMs,
} from '../../src/stats/histogram.js';
import { spread } from '../../src/stats/summary.js';

const metrics = (n200: number, sum: number) => `# HELP http_request_duration_seconds x
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.001",replica="a",service="monolith",route="/predict",method="POST",status_code="200"} ${n200 / 2}
http_request_duration_seconds_bucket{le="0.002",replica="a",service="monolith",route="/predict",method="POST",status_code="200"} ${n200}
http_request_duration_seconds_bucket{le="+Inf",replica="a",service="monolith",route="/predict",method="POST",status_code="200"} ${n200}
http_request_duration_seconds_sum{replica="a",service="monolith",route="/predict",method="POST",status_code="200"} ${sum}
http_request_duration_seconds_count{replica="a",service="monolith",route="/predict",method="POST",status_code="200"} ${n200}
http_request_duration_seconds_bucket{le="0.001",replica="a",service="monolith",route="/metrics",method="GET",status_code="200"} 7
http_request_duration_seconds_count{replica="a",service="monolith",route="/metrics",method="GET",status_code="200"} 7
process_cpu_seconds_total{replica="a"} 1.5
`;

t.test('Prometheus text: parse, select, subtract, quantile like histogram_quantile', async (t) => {
  const predict = (l: Record<string, string>) => l.route === '/predict';
  const before = histogramOf(parsePrometheusText(metrics(100, 0.1)), 'http_request_duration_seconds', predict);
  const after = histogramOf(parsePrometheusText(metrics(300, 0.4)), 'http_request_duration_seconds', predict);
  const d = subtract(after, before);
  t.equal(d.count, 200);
  t.ok(Math.abs(d.sum - 0.3) < 1e-9);
  t.equal(quantile(d, 0.5), 0.001, 'half the requests under 1 ms');
  t.ok(Math.abs(quantile(d, 0.75) - 0.0015) < 1e-9, 'interpolated inside the bucket');
  t.equal(quantile({ buckets: new Map(), count: 0, sum: 0 }, 0.99), 0);
  const samples = parsePrometheusText(metrics(1, 1));
  t.equal(samples.find((s) => s.name === 'process_cpu_seconds_total')?.value, 1.5);
});

t.test('histograms merge losslessly; percentiles are not averaged', async (t) => {
  const fast = newHistogram();
  const slow = newHistogram();
  for (let i = 0; i < 990; i++) fast.recordValue(1000);
  for (let i = 0; i < 10; i++) slow.recordValue(500_000);
  const merged = mergeHistograms([encodeHistogram(fast), encodeHistogram(slow)]);
  t.equal(merged.totalCount, 1000);
  const s = summarizeMs(merged);
  t.ok(s.p99 <= 1.001 && s.p999 >= 499, `p99 ${s.p99} ms, p99.9 ${s.p999} ms from the merged distribution`);
  const roundTrip = decodeHistogram(encodeHistogram(slow));
  t.equal(roundTrip.totalCount, slow.totalCount);
  t.ok(Math.abs(roundTrip.maxValue - 500_000) / 500_000 < 0.001, 'max survives encoding within 3 significant digits');
});

t.test('spread: median and range', async (t) => {
  t.same(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  t.same(spread([4, 1]), { median: 2.5, min: 1, max: 4, n: 2 });
  t.same(spread([]), { median: 0, min: 0, max: 0, n: 0 });
});

t.test('latency the server does not account for is the load generator’s', async (t) => {
  const base = { clientP99Ms: 36, sloP99Ms: 25, entryP99Ms: 0.25, processCores: [0.15], serverCores: 1 };
  // Measured with real k6 at 1,250 req/s: 36 ms at the client, 0.25 ms in the monolith at 15 % of its core.
  t.match(unexplainedLatency(base), /wait was in the load generator/);
  t.equal(unexplainedLatency({ ...base, clientP99Ms: 20 }), undefined, 'within the SLO: nothing to explain');
  t.equal(unexplainedLatency({ ...base, entryP99Ms: 10 }), undefined, 'the server itself was slow');
  t.equal(
    unexplainedLatency({ ...base, processCores: [0.95] }),
    undefined,
    'a saturated server queues out of its histograms',
  );
  t.equal(
    unexplainedLatency({ ...base, processCores: [0.4, 0.4], serverCores: 1 }),
    undefined,
    'two processes sharing one core saturate it',
  );
  t.equal(unexplainedLatency({ ...base, entryP99Ms: undefined }), undefined, 'no server histograms: no verdict');
});
