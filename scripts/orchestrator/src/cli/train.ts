import { resolve } from 'node:path';
import { DEFAULT_MODEL_PATH, MAX_FEATURES, trainToFile } from '@mlbench/model';
import { type Command, Option } from 'commander';
import { type Io, int } from './args.js';

export function trainCommand(program: Command, io: Io): void {
  program
    .command('train')
    .description('train a linear model on a seeded synthetic data set and write its artifact atomically')
    .option('--features <F>', `number of features (1..${MAX_FEATURES})`, int('--features', 1, MAX_FEATURES), 8)
    .option('--out <path>', 'artifact to write', DEFAULT_MODEL_PATH)
    .option('--seed <n>', 'data set seed', int('--seed', 0), 42)
    .option('--samples <n>', 'rows in the data set (default: max(2000, 2F+500))', int('--samples', 10))
    .addOption(new Option('--trainer <name>', 'solver').choices(['auto', 'ml-regression', 'cgls']).default('auto'))
    .option('--force', 'replace an existing artifact', false)
    .action(async (o) => {
      io.out(`${await trainToFile({ ...o, out: resolve(o.out) })}\n`);
    });
}
