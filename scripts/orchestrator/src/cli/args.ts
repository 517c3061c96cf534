import { parsePreprocessSpec } from '@mlbench/preprocess';
import { InvalidArgumentError } from 'commander';
import { TOPOLOGIES, type Topology } from '../backends/types.js';
import { parseSweepModel } from '../bench/sweep.js';
import { PROMETHEUS_HINT } from '../prometheus/local.js';
import { parseFault } from '../scenario/faults.js';
import { parseDuration } from '../sys/duration.js';
import { which } from '../sys/which.js';

/** A mistake in what the user asked for: one line, non-zero exit, nothing started. */
export class UsageError extends Error {}

/** Ends a command with this exit code; its message (if any) is printed as the one-line reason. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
  }
}

export const int =
  (name: string, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };

export const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

const intListOf = (name: string) => (v: string) => {
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length === 0 || nums.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new InvalidArgumentError(`${name} must be a comma-separated list of integers from 1 to 64, e.g. 1,2,4`);
  return [...new Set(nums)].sort((a, b) => a - b);
};
export const intList = intListOf('replicas');
export const gatewayList = intListOf('gateways');

/** A parser that throws its own Error, turned into commander's argument error (one line). */
const asArgument =
  <T>(parse: (v: string) => T) =>
  (v: string): T => {
    try {
      return parse(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

export const durationArg = asArgument(parseDuration);
export const preprocessArg = asArgument((v: string) => {
  parsePreprocessSpec(v);
  return v;
});
export const sweepModelsArg = asArgument((v: string) => {
  const labels = v.split(',').map((x) => x.trim());
  for (const l of labels) parseSweepModel(l);
  return [...new Set(labels)];
});
export const faultArg = asArgument(parseFault);

export const topologies = (v: string): Topology[] => (v === 'both' ? [...TOPOLOGIES] : [v as Topology]);

/** `--with prometheus` stops at once, with the reason, when there is no binary to start. */
export function requirePrometheusIf(extra: string | undefined): void {
  if (extra === 'prometheus' && !which('prometheus'))
    throw new UsageError(`--with prometheus needs ${PROMETHEUS_HINT}`);
}

/** Where a command writes what it prints: the process's streams, or a test's buffers. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};
