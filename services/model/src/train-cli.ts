#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { MAX_FEATURES, type Trainer } from './train.js';
import { trainToFile } from './train-file.js';

const usage = `usage: train --features F --out PATH [--seed N] [--samples N] [--trainer auto|ml-regression|cgls] [--if-missing] [--force]

Trains a linear regression on a seeded synthetic data set and writes the artifact atomically.
  --features F     number of input features, 1..${MAX_FEATURES} (default 8)
  --out PATH       artifact file to write (refuses to overwrite an existing file unless --force)
  --if-missing     do nothing when PATH already exists
  --force          replace an existing artifact`;

export function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

export function trainerOption(value: string): Trainer | 'auto' {
  if (!['auto', 'ml-regression', 'cgls'].includes(value))
    throw new Error(`--trainer must be auto, ml-regression or cgls, got "${value}"`);
  return value as Trainer | 'auto';
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      features: { type: 'string', default: '8' },
      out: { type: 'string' },
      seed: { type: 'string' },
      samples: { type: 'string' },
      trainer: { type: 'string', default: 'auto' },
      'if-missing': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return console.log(usage);
  if (!values.out) throw new Error('--out PATH is required');
  console.log(
    await trainToFile({
      features: positiveInt('features', values.features)!,
      out: values.out,
      seed: positiveInt('seed', values.seed),
      samples: positiveInt('samples', values.samples),
      trainer: trainerOption(values.trainer),
      ifMissing: values['if-missing'],
      force: values.force,
    }),
  );
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(`train: ${err.message}`);
  process.exit(2);
});
