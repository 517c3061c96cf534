#!/usr/bin/env node
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from './atomic.js';
import { MAX_FEATURES, type Trainer, train } from './train.js';

const usage = `usage: train --features F --out PATH [--seed N] [--samples N] [--trainer auto|ml-regression|cgls] [--if-missing]

Trains a linear regression on a seeded synthetic data set and writes the artifact atomically.
  --features F     number of input features, 1..${MAX_FEATURES} (default 8)
  --out PATH       artifact file to write (refuses to overwrite an existing file unless --force)
  --if-missing     do nothing when PATH already exists
  --force          replace an existing artifact`;

function intOption(name: string, value: string | undefined, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
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
  if (values.help) {
    console.log(usage);
    return;
  }
  if (!values.out) throw new Error('--out PATH is required');
  const trainer = values.trainer as Trainer | 'auto';
  if (!['auto', 'ml-regression', 'cgls'].includes(trainer))
    throw new Error(`--trainer must be auto, ml-regression or cgls, got "${values.trainer}"`);
  const exists = await access(values.out).then(
    () => true,
    () => false,
  );
  if (exists && values['if-missing']) return;
  if (exists && !values.force) throw new Error(`${values.out} exists; pass --force to replace it`);
  const t0 = performance.now();
  const artifact = train({
    features: intOption('features', values.features, 8)!,
    seed: intOption('seed', values.seed, 42),
    samples: intOption('samples', values.samples),
    trainer,
  });
  await writeFileAtomic(values.out, `${JSON.stringify(artifact, null, 2)}\n`);
  const m = artifact.metrics.holdout;
  console.log(
    `wrote ${values.out}: ${artifact.name}@${artifact.version} (${artifact.trainer}, ${artifact.featureNames.length} features) ` +
      `hold-out R²=${m.r2.toFixed(4)} RMSE=${m.rmse.toFixed(4)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(`train: ${err.message}`);
  process.exit(2);
});
