import { mkdir, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_MODEL_PATH, writeFileAtomic } from '@mlbench/model';
import { type Command, Option } from 'commander';
import { deployProcesses } from '../backends/process.js';
import { deploymentTargets, startLocalPrometheus } from '../prometheus/local.js';
import { commandLineOf } from '../sys/child.js';
import { type Io, int, requirePrometheusIf, UsageError } from './args.js';
import { abortOnSignals } from './signals.js';

const stateFile = () => resolve('.mlbench', 'up.json');

export function upCommand(program: Command, io: Io): void {
  program
    .command('up')
    .description('start a topology as local processes and keep it running until Ctrl-C')
    .addOption(
      new Option('--topology <t>', 'what to start').choices(['monolith', 'microservices']).default('microservices'),
    )
    .option('--replicas <n>', 'replicas of the scaled tier', int('--replicas', 1, 64), 2)
    .option('--model <path>', 'model artifact', DEFAULT_MODEL_PATH)
    .addOption(
      new Option('--with <extra>', 'also start: prometheus (local binary, scraping every replica)').choices([
        'prometheus',
      ]),
    )
    .action(async (o) => {
      requirePrometheusIf(o.with);
      const d = await deployProcesses(o.topology, o.replicas, {
        modelPath: resolve(o.model),
        runId: `up-${process.pid}`,
        logLevel: 'info',
      });
      const prom =
        o.with === 'prometheus'
          ? await startLocalPrometheus(resolve('.mlbench', 'prometheus')).catch(async (err) => {
              await d.stop();
              throw err;
            })
          : undefined;
      await prom?.setTargets(d.topology, deploymentTargets(d));
      await mkdir(resolve('.mlbench'), { recursive: true });
      const state = { pid: process.pid, topology: d.topology, components: d.components };
      await writeFileAtomic(stateFile(), JSON.stringify(state, null, 2));
      for (const c of d.components) io.out(`${c.name.padEnd(14)} ${c.url}  (pid ${c.pid})\n`);
      if (prom)
        io.out(`prometheus     ${prom.url}  (config compose/prometheus/process.yml, data .mlbench/prometheus)\n`);
      io.out(`entry: ${d.entryUrls.join(' ')} — Ctrl-C or \`mlbench down\` to stop\n`);
      const ac = abortOnSignals();
      await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
      ac.dispose();
      await Promise.all([d.stop(), prom?.stop()]);
      await rm(stateFile(), { force: true });
    });
}

export function downCommand(program: Command, io: Io): void {
  program
    .command('down')
    .description('stop what `mlbench up` started; with --docker, remove containers of bench runs that died')
    .option('--docker', 'remove Docker projects and Swarm stacks left by bench runs whose mlbench process is gone')
    .option(
      '--owner <pid>',
      'with --docker: wait for this mlbench process to exit, then remove its projects',
      int('--owner'),
    )
    .action(async (o: { docker?: boolean; owner?: number }) => {
      if (o.docker) {
        const { reapOrphans } = await import('../backends/reap.js');
        const removed = await reapOrphans({ owner: o.owner });
        io.out(removed.length ? `removed ${removed.join(', ')}\n` : 'no orphaned mlbench bench projects\n');
        return;
      }
      let state: { pid: number };
      try {
        state = JSON.parse(await readFile(stateFile(), 'utf8'));
      } catch {
        throw new UsageError('nothing to stop: no topology started by `mlbench up` from this directory');
      }
      if (!Number.isInteger(state.pid) || state.pid <= 1)
        throw new UsageError(`${stateFile()} names no process (pid ${JSON.stringify(state.pid)}); remove it by hand`);
      // The file may be stale and its pid reused: signal it only if it is still `mlbench up`.
      const command = commandLineOf(state.pid);
      if (
        command === undefined ||
        !/\bmlbench\b|orchestrator\/dist\/cli\.js/.test(command) ||
        !/\bup\b/.test(command)
      ) {
        await rm(stateFile(), { force: true });
        io.out(
          command === undefined
            ? 'mlbench up was no longer running; state cleared\n'
            : `pid ${state.pid} is not mlbench up (it runs: ${command.slice(0, 80)}); left alone, state cleared\n`,
        );
        return;
      }
      try {
        process.kill(state.pid, 'SIGTERM');
        io.out(`stopping mlbench up (pid ${state.pid})\n`);
      } catch (err) {
        throw new UsageError(`cannot stop mlbench up (pid ${state.pid}): ${(err as NodeJS.ErrnoException).code}`);
      }
    });
}
