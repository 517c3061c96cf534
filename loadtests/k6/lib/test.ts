// Everything one of the shape scripts exports, built from its scenario file: options,
// a setup() preflight, the iteration, and handleSummary writing JSON that mlbench ingests.
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import type { Options } from 'k6/options';
import { makePayload } from './payload.ts';
import { parseShape, scenariosFor } from './scenario.ts';
import { thresholdsFor } from './thresholds.ts';

/** BASE_URLS (comma-separated, e.g. every monolith replica) or BASE_URL; loopback by default. */
export function targets(): string[] {
  const raw = __ENV.BASE_URLS ?? __ENV.BASE_URL ?? 'http://127.0.0.1:8080';
  const list = raw
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s.length > 0);
  for (const u of list)
    if (!/^https?:\/\/[^/\s]+$/.test(u))
      throw new Error(`BASE_URLS: "${u}" is not a base URL like http://127.0.0.1:8080`);
  if (list.length === 0) throw new Error('BASE_URLS is empty');
  return list;
}

export function buildTest(name: string, scenarioText: string) {
  const shape = parseShape(name, scenarioText);
  const urls = targets();
  const payload = makePayload(shape.payload);
  const timeout = shape.requestTimeout ?? '10s';
  const params = { headers: { 'content-type': 'application/json' }, timeout, tags: { name: payload.path } };

  const options: Options = {
    scenarios: scenariosFor(shape),
    thresholds: thresholdsFor(shape),
    tags: { runid: __ENV.MLBENCH_RUN_ID ?? 'manual', topology: __ENV.TOPOLOGY ?? 'unknown', shape: name },
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)'],
    setupTimeout: '30s',
    // One connection per VU, as the built-in driver: a backlog queues at the server.
    noConnectionReuse: false,
  };

  /** Fail fast, with the reason, before any load: every target ready and answering a real prediction. */
  function setup() {
    if (shape.arrival === 'poisson')
      console.warn('k6 spaces arrivals evenly; Poisson arrivals are the built-in driver’s (mlbench --driver builtin)');
    for (const base of urls) {
      const ready = http.get(`${base}/readyz`, { timeout: '5s', tags: { name: 'preflight' } });
      if (ready.status !== 200)
        exec.test.abort(
          `preflight: ${base}/readyz answered ${ready.status || ready.error}; is the topology up? (make up-microservices, or mlbench up)`,
        );
      const res = http.post(`${base}${payload.path}`, payload.bodies[0], { ...params, tags: { name: 'preflight' } });
      const body = typeof res.body === 'string' ? res.body : '';
      if (res.status !== 200 || !/"predictions?"/.test(body))
        exec.test.abort(
          `preflight: POST ${base}${payload.path} answered ${res.status || res.error}: ${body.slice(0, 200)} (does the model take ${shape.payload?.features ?? 8} features?)`,
        );
    }
    return { targets: urls.length };
  }

  function iteration() {
    const i = exec.scenario.iterationInTest;
    const base = urls[i % urls.length];
    const res = http.post(`${base}${payload.path}`, payload.bodies[i % payload.bodies.length], params);
    check(res, { 'status is 200': (r) => r.status === 200 });
  }

  /** JSON for mlbench (SUMMARY_PATH) and one line for the terminal. */
  function handleSummary(data: { metrics: Record<string, { values: Record<string, number> }> }) {
    const m = (key: string) => data.metrics[`${key}{scenario:measure}`]?.values ?? data.metrics[key]?.values ?? {};
    const d = m('http_req_duration');
    const line =
      `${name}: ${m('http_reqs').count ?? 0} requests, ${((m('http_req_failed').rate ?? 0) * 100).toFixed(2)}% failed, ` +
      `${m('dropped_iterations').count ?? 0} dropped, p50 ${(d.med ?? 0).toFixed(3)} ms, p99 ${(d['p(99)'] ?? 0).toFixed(3)} ms\n`;
    return {
      [__ENV.SUMMARY_PATH ?? `summary-${name}.json`]: JSON.stringify(data, null, 2),
      stdout: line,
    };
  }

  return { options, setup, iteration, handleSummary };
}
