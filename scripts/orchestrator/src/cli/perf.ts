import { resolve } from 'node:path';
import type { Command } from 'commander';
import { newRunId } from '../results/index.js';
import { choosePinning } from '../sys/machine.js';
import { which } from '../sys/which.js';
import { durationArg, type Io, int } from './args.js';
import { abortOnSignals } from './signals.js';

export function perfCommand(program: Command, io: Io): void {
  program
    .command('perf')
    .description('measure our services, gateway and driver against their limits side by side (make perf)')
    .option('--rounds <n>', 'interleaved rounds per comparison', int('--rounds', 1, 20), 3)
    .option('--duration <d>', 'length of each measurement', durationArg, 3000)
    .option('--connections <n>', 'connections for closed- and open-loop load', int('--connections', 1, 1000), 32)
    .option(
      '--memory-requests <n>',
      'requests per memory step (RSS after N and 2N)',
      int('--memory-requests', 1000),
      100_000,
    )
    .option('--pin <mode>', 'CPU split: auto, off, or DRIVER_CPUS:SERVER_CPUS', 'auto')
    .option('--out <dir>', 'results root (writes <out>/perf/<id>.json and .md)', 'results')
    .action(async (o) => {
      const { runPerf } = await import('../perf/suite.js');
      const { perfTable } = await import('../perf/table.js');
      const { writePerf } = await import('../results/index.js');
      const pinning = choosePinning(o.pin, which('taskset') !== undefined);
      const ac = abortOnSignals();
      try {
        const runId = newRunId();
        const t0 = Date.now();
        const res = await runPerf({
          rounds: o.rounds,
          durationMs: o.duration,
          connections: o.connections,
          memoryRequests: o.memoryRequests,
          pinning,
          runId,
          log: (line) => io.err(`${line}\n`),
          signal: ac.signal,
        });
        const table = perfTable(res);
        const file = await writePerf(resolve(o.out), res, table);
        io.out(`\n${table}\n${file} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      } finally {
        ac.dispose();
      }
    });
}
