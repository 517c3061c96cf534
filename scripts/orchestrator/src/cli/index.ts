import { Command } from 'commander';
import { ExitError, type Io, processIo } from './args.js';
import { benchCommand } from './bench.js';
import { compareCommand } from './compare.js';
import { perfCommand } from './perf.js';
import { planCommand } from './plan.js';
import { reportCommand } from './report.js';
import { trainCommand } from './train.js';
import { downCommand, upCommand } from './up.js';

/** The whole command tree; building it starts nothing and reads nothing. */
export function buildCli(io: Io = processIo): Command {
  const program = new Command('mlbench')
    .description('Deploy one model as a monolith and as gateway + prediction services, load both identically, compare.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({
    writeOut: (str) => io.out(str),
    writeErr: (str) => io.err(str),
    outputError: (str, write) => write(`mlbench: ${str.replace(/^error: /, '')}`),
  });
  // Subcommands inherit exitOverride and the output routing: both are set before they are added.
  for (const add of [
    trainCommand,
    benchCommand,
    perfCommand,
    reportCommand,
    compareCommand,
    planCommand,
    upCommand,
    downCommand,
  ])
    add(program, io);
  return program;
}

/** Run one command line; resolves to the exit code (0, 1 for a failure, 2 for a usage error). */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildCli(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    // A usage error (unknown option, bad argument, invalid choice): 2, as documented above.
    if (e.code?.startsWith('commander.')) return 2;
    if (err instanceof ExitError) {
      if (e.message) io.err(`mlbench: ${e.message.split('\n')[0]}\n`);
      return err.exitCode;
    }
    io.err(`mlbench: ${e.message.split('\n')[0]}\n`);
    return 1;
  }
}
