import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readResults } from '../results/index.js';
import type { Io } from './args.js';

export function reportCommand(program: Command, io: Io): void {
  program
    .command('report')
    .description('re-render report.md and report.html from a results directory')
    .argument('<dir>', 'a results/<run-id> directory')
    .action(async (dir: string) => {
      const { writeReports } = await import('../report/write.js');
      const results = await readResults(resolve(dir));
      const { html } = await writeReports(resolve(dir), results);
      io.out(`wrote ${html}\n`);
    });
}
