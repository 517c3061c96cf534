import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ExitError, type Io } from './args.js';

const fraction = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0.5 || n >= 1)
    throw new InvalidArgumentError('--level must be between 0.5 and 1, e.g. 0.95');
  return n;
};
const percent = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1000)
    throw new InvalidArgumentError('--min-change must be a percentage from 0 to 1000');
  return n;
};

/**
 * Exit codes: 0 nothing regressed (or no --fail-on), 1 a regression with --fail-on regression,
 * 2 bad input (unreadable or invalid results, runs not comparable without --force).
 */
export function compareCommand(program: Command, io: Io): void {
  program
    .command('compare')
    .description('compare two result directories: change per figure with a confidence interval and a verdict')
    .argument('<a>', 'baseline: results/<run-id>, a --repeat set (results/<id> of bench --repeat), or dir,dir,…')
    .argument('<b>', 'candidate: the same forms')
    .option('--json', 'print the comparison as JSON on stdout (nothing else)')
    .addOption(new Option('--fail-on <what>', 'exit 1 when a figure regressed').choices(['regression']))
    .option('--metric <list>', 'figures to compare: p50,p99,p999,rate,capacity,cpu,rss (default all)')
    .option('--min-change <pct>', 'smallest significant change that counts as a regression or improvement', percent, 5)
    .option('--level <p>', 'confidence level of the intervals', fraction, 0.95)
    .option('--force', 'compare although machine, scenario, plan or SLO differ (prints what differs)')
    .option('--html <file>', 'where compare.html goes (default: <B>/../compare/<A>-vs-<B>.html)')
    .option('--no-html', 'write no compare.html')
    .option('--junit <file>', 'JUnit XML: one case per SLO and target, one per "no regression" check')
    .option('--csv <dir>', 'runs.csv, probes.csv and compare.csv into this directory')
    .action(async (aDir: string, bDir: string, o) => {
      const { resolveSide } = await import('../compare/sides.js');
      const { compareSides, IncomparableError } = await import('../compare/compare.js');
      const { parseMetrics } = await import('../compare/metrics.js');
      const { comparisonText } = await import('../compare/text.js');
      let metrics: ReturnType<typeof parseMetrics> | undefined;
      try {
        metrics = o.metric ? parseMetrics(o.metric) : undefined;
      } catch (err) {
        throw new ExitError(2, (err as Error).message);
      }
      const read = (d: string) => resolveSide(d).catch((err: Error) => Promise.reject(new ExitError(2, err.message)));
      const [a, b] = await Promise.all([read(aDir), read(bDir)]);
      let c: ReturnType<typeof compareSides>;
      try {
        c = compareSides(a, b, {
          ...(metrics ? { metrics } : {}),
          level: o.level,
          minChangePct: o.minChange,
          force: o.force === true,
        });
      } catch (err) {
        if (err instanceof IncomparableError) throw new ExitError(2, err.message);
        throw err;
      }
      const wrote: string[] = [];
      if (o.html !== false) {
        const { comparisonHtml } = await import('../compare/html.js');
        const file =
          typeof o.html === 'string'
            ? resolve(o.html)
            : join(dirname(b.dirs[0]!), 'compare', `${a.name}-vs-${b.name}.html`.replace(/[^A-Za-z0-9._-]/g, '_'));
        await mkdir(dirname(file), { recursive: true });
        await writeFileAtomic(file, comparisonHtml(c, a.runs, b.runs));
        wrote.push(file);
      }
      if (o.junit) {
        const { junitXml } = await import('../compare/exports.js');
        const file = resolve(o.junit);
        await mkdir(dirname(file), { recursive: true });
        await writeFileAtomic(file, junitXml(c, b.runs));
        wrote.push(file);
      }
      if (o.csv) {
        const { writeCsv } = await import('../compare/exports.js');
        wrote.push(...(await writeCsv(resolve(o.csv), c, a.runs, b.runs)));
      }
      if (o.json) io.out(`${JSON.stringify(c, null, 1)}\n`);
      else {
        io.out(comparisonText(c));
        for (const f of wrote) io.out(`wrote ${f}\n`);
      }
      if (o.failOn === 'regression' && c.regressed > 0) throw new ExitError(1);
    });
}
