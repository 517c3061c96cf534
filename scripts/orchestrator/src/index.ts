/**
 * mlbench as a library: the command line (importable, no side effect), the presets, a
 * bench program and its runner, and the results contract (schema, store). What the `mlbench` program does, a
 * script can do through these.
 */
export { BACKENDS, type Backend, type BackendName } from './backends/registry.js';
export { PRESETS, type Preset } from './bench/presets.js';
export { type BenchProgram, buildProgram, type ProgramRequest } from './bench/program.js';
export { BenchAborted, type RunOptions, runBench } from './bench/runner.js';
export { type Io, UsageError } from './cli/args.js';
export { buildCli, main } from './cli/index.js';
export { searchCapacity } from './measure/capacity.js';
export * from './results/index.js';
export { loadScenario, type Scenario } from './scenario/scenario.js';
