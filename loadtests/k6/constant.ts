// k6 run loadtests/k6/constant.ts -e BASE_URL=http://127.0.0.1:8090   (shape: loadtests/scenarios/steady.json)
// Environment: BASE_URLS (comma-separated, e.g. monolith replicas), SCENARIO_FILE, WARMUP,
// SLO_P99_MS, SLO_ERROR_RATE, SUMMARY_PATH, MLBENCH_RUN_ID, TOPOLOGY.
import { buildTest } from './lib/test.ts';

const test = buildTest('steady', open('../scenarios/steady.json'));

export const options = test.options;
export const setup = test.setup;
export const handleSummary = test.handleSummary;
export default test.iteration;
