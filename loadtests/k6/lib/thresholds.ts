// Pass/fail for the measured phase only: the p99 SLO, the error-rate budget, and no
// dropped arrivals (k6's sign that every VU was busy: the system fell behind the schedule).
// Thresholds on tagged sub-metrics also make k6 put those sub-metrics in the summary,
// which is what mlbench ingests.
import type { Options } from 'k6/options';
import type { Shape } from './scenario.ts';

export function thresholdsFor(shape: Shape): NonNullable<Options['thresholds']> {
  const p99 = Number(__ENV.SLO_P99_MS ?? shape.slo?.p99Ms ?? 25);
  const errorRate = Number(__ENV.SLO_ERROR_RATE ?? shape.slo?.errorRate ?? 0.001);
  return {
    'http_req_duration{scenario:measure}': [`p(99)<${p99}`],
    'http_req_failed{scenario:measure}': [`rate<=${errorRate}`],
    'http_reqs{scenario:measure}': ['count>0'],
    'dropped_iterations{scenario:measure}': ['count==0'],
    'checks{scenario:measure}': [`rate>=${1 - errorRate}`],
  };
}
