import { resolve } from 'node:path';
import { DEFAULT_MODEL_PATH, FAMILIES, MAX_FEATURES, RANDOM_FEATURES_SIZES, trainToFile } from '@mlbench/model';
import { type Command, Option } from 'commander';
import { type Io, int, positive } from './args.js';

export function trainCommand(program: Command, io: Io): void {
  program
    .command('train')
    .description(
      'train a model of a family (see mlbench models) on seeded synthetic data and write its artifact atomically',
    )
    .addOption(new Option('--family <name>', 'model family').choices(FAMILIES.map((f) => f.name)).default('linear'))
    .option('--features <F>', `number of input features (1..${MAX_FEATURES})`, int('--features', 1, MAX_FEATURES), 8)
    .addOption(
      new Option('--size <preset>', 'random-features compute preset (width × depth)').choices(
        Object.keys(RANDOM_FEATURES_SIZES),
      ),
    )
    .option('--width <W>', 'random-features layer width', int('--width', 1, 4096))
    .option('--depth <D>', 'random-features layers', int('--depth', 1, 64))
    .option('--memory-mb <N>', 'random-features embedding table of about N MB', positive('--memory-mb'))
    .option('--categories <C>', 'random-features embedding rows', int('--categories', 0, 50_000_000))
    .option('--embed-dim <E>', 'random-features embedding width', int('--embed-dim', 1, 1024))
    .option('--out <path>', 'artifact to write', DEFAULT_MODEL_PATH)
    .option('--seed <n>', 'data set seed', int('--seed', 0), 42)
    .option('--samples <n>', 'rows in the data set (default: by family and size)', int('--samples', 10))
    .addOption(
      new Option('--trainer <name>', 'linear solver').choices(['auto', 'ml-regression', 'cgls']).default('auto'),
    )
    .option('--force', 'replace an existing artifact', false)
    .action(async (o) => {
      io.out(`${await trainToFile({ ...o, out: resolve(o.out) })}\n`);
    });
  program
    .command('models')
    .description('list the model families and what their knobs do')
    .option('--json', 'as JSON', false)
    .action((o) => {
      if (o.json) return io.out(`${JSON.stringify(FAMILIES, null, 2)}\n`);
      for (const f of FAMILIES) {
        io.out(`${f.name}: ${f.what}\n`);
        for (const k of f.knobs) io.out(`  ${k}\n`);
        io.out(`  cost: ${f.cost}\n`);
      }
    });
}
