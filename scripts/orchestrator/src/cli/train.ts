import { resolve } from 'node:path';
import {
  DEFAULT_MODEL_PATH,
  defaultSamples,
  FAMILIES,
  MAX_FEATURES,
  makeSyntheticData,
  RANDOM_FEATURES_SIZES,
  trainToFile,
  writeFileAtomic,
} from '@mlbench/model';
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
    .command('dataset')
    .description(
      'write the seeded synthetic data set `train` fits (linear family) as CSV, for training another stack on the same data',
    )
    .option('--features <F>', `number of input features (1..${MAX_FEATURES})`, int('--features', 1, MAX_FEATURES), 8)
    .option('--seed <n>', 'data set seed', int('--seed', 0), 42)
    .option('--samples <n>', 'rows (default: as train)', int('--samples', 10))
    .option('--noise <sd>', 'label noise (as train)', positive('--noise'), 0.1)
    .requiredOption('--out <csv>', 'CSV to write: a header x0,…,y then one row per sample')
    .action(async (o) => {
      const samples = o.samples ?? defaultSamples(o.features);
      const d = makeSyntheticData(o.features, samples, o.seed, o.noise);
      const head = [...Array.from({ length: d.features }, (_, i) => `x${i}`), 'y'].join(',');
      const rows: string[] = [head];
      for (let r = 0; r < d.rows; r++) {
        const x = Array.from(d.x.subarray(r * d.features, (r + 1) * d.features));
        // 17 significant digits: every float64 reads back exactly.
        rows.push([...x, d.y[r]!].map((v) => v.toPrecision(17)).join(','));
      }
      await writeFileAtomic(resolve(o.out), `${rows.join('\n')}\n`);
      io.out(`${resolve(o.out)}: ${d.rows} rows × ${d.features} features (seed ${o.seed}, noise ${o.noise})\n`);
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
