/**
 * mlbench as a library: the command line (importable, no side effect), the plan and its
 * runner, and the results schema with its reader. What the `mlbench` program does, a
 * script can do through these.
 */
export { BACKENDS, type Backend, type BackendName } from './backends/registry.js';
export { BenchAborted, type RunOptions, runBench } from './bench.js';
export { type BenchPlan, buildPlan, type PlanRequest } from './bench-plan.js';
export { searchCapacity } from './capacity.js';
export { type Io, UsageError } from './cli/args.js';
export { buildCli, main } from './cli/index.js';
export { PLANS, type Plan } from './plan.js';
export { checkResults, readResults } from './results.js';
export * from './results-schema.js';
export { loadScenario, type Scenario } from './scenario.js';
