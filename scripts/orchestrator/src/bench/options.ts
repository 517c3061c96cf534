import type { GatewayKind } from '../backends/nginx.js';
import type { Pinning } from '../sys/machine.js';
import type { Progress } from './progress.js';

/** How to run a bench program: where results go, the CPU split, and the run's controls. */
export interface RunOptions {
  outDir: string;
  runId: string;
  pinning: Pinning;
  minDurationMs: number;
  progress: Progress;
  signal: AbortSignal;
  modelPath?: string | undefined;
  /** API-tier preprocessing on the monolith and the gateway (@mlbench/preprocess syntax). */
  preprocess?: string | undefined;
  /** The microservices' gateway: ours (fastify, default) or nginx (process backend). */
  gateway?: GatewayKind | undefined;
  /** Run a local Prometheus beside the bench (results/<id>/prometheus) and record its view of every run. */
  withPrometheus?: boolean;
  /** Built-in driver processes, each on a driver CPU of its own (default 1). */
  driverWorkers?: number;
}

export class BenchAborted extends Error {
  override name = 'BenchAborted';
}
