#!/usr/bin/env node
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_MODEL_PATH, MAX_FEATURES, trainToFile } from '@mlbench/model';
import { Command, InvalidArgumentError, Option } from 'commander';
import { deployProcesses } from './backends/process.js';
import { TOPOLOGIES, type Topology } from './backends/types.js';
import { which } from './backends/which.js';
import { K6_HINT } from './driver/k6.js';
import { parseDuration } from './duration.js';
import { type FaultSpec, parseFault } from './faults.js';
import { choosePinning } from './machine.js';
import { PLANS } from './plan.js';
import { Progress } from './progress.js';
import { deploymentTargets, PROMETHEUS_HINT, startLocalPrometheus } from './prometheus/local.js';
import { newRunId, readResults } from './results.js';
import { loadScenario } from './scenario.js';

class UsageError extends Error {}

const int =
  (name: string, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
const intList = (v: string) => {
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length === 0 || nums.some((n) => !Number.isInteger(n) || n < 1 || n > 64))
    throw new InvalidArgumentError('replicas must be a comma-separated list of integers from 1 to 64, e.g. 1,2,4');
  return [...new Set(nums)].sort((a, b) => a - b);
};
const durationArg = (v: string) => {
  try {
    return parseDuration(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const faultArg = (v: string) => {
  try {
    return parseFault(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
const topologies = (v: string): Topology[] => (v === 'both' ? [...TOPOLOGIES] : [v as Topology]);

/** `--with prometheus` stops at once, with the reason, when there is no binary to start. */
function requirePrometheusIf(extra: string | undefined): void {
  if (extra === 'prometheus' && !which('prometheus'))
    throw new UsageError(`--with prometheus needs ${PROMETHEUS_HINT}`);
}

const STATE_FILE = resolve('.mlbench', 'up.json');

/**
 * Abort on the first SIGINT/SIGTERM; a second one stops at once. Child processes die with
 * us; containers do not, so `beforeExit` hands them to a detached cleaner first.
 */
function abortOnSignals(beforeExit?: () => Promise<void>): AbortController {
  const ac = new AbortController();
  const handler = async (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\nmlbench: second ${sig}, exiting now\n`);
      await beforeExit?.().catch(() => undefined);
      process.exit(130);
    }
    process.stderr.write(`\nmlbench: ${sig} received, stopping and saving what was measured…\n`);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return ac;
}

export function buildCli(): Command {
  const program = new Command('mlbench')
    .description('Deploy one model as a monolith and as gateway + prediction services, load both identically, compare.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (str, write) => write(`mlbench: ${str.replace(/^error: /, '')}`) });

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
      console.log(await trainToFile({ ...o, out: resolve(o.out) }));
    });

  program
    .command('bench')
    .description('run a benchmark plan and write results.json, report.md and report.html')
    .addOption(
      new Option('--plan <name>', 'preset: quick (< 1 min) or full (make bench)')
        .choices(Object.keys(PLANS))
        .default('quick'),
    )
    .addOption(
      new Option('--topology <t>', 'what to deploy').choices(['monolith', 'microservices', 'both']).default('both'),
    )
    .addOption(
      new Option('--backend <b>', 'where to deploy').choices(['process', 'docker', 'swarm']).default('process'),
    )
    .addOption(new Option('--driver <d>', 'load generator').choices(['builtin', 'k6']).default('builtin'))
    .option('--scenario <name|path>', 'scenario from loadtests/scenarios, or a JSON file (default: the plan’s)')
    .option('--replicas <list>', 'replica counts, e.g. 1,2,4 (default: the plan’s)', intList)
    .option('--trials <n>', 'trials per configuration (default: the plan’s)', int('--trials', 1, 100))
    .option('--slo-ms <ms>', 'p99 latency SLO for capacity search (default: the scenario’s)', positive('--slo-ms'))
    .option(
      '--fault <spec>',
      'inject a fault into one replica of the scaled tier in every trial: kill@T, stop@T, pause@T[:D], restart@T[:D] (default scenario: resilience, replicas 3)',
      faultArg,
    )
    .addOption(
      new Option('--with <extra>', 'run beside the bench: prometheus (local binary, results/<id>/prometheus)').choices([
        'prometheus',
      ]),
    )
    .option('--no-capacity', 'skip the capacity search')
    .option('--no-sweep', 'skip the model-cost sweep')
    .option('--pin <mode>', 'CPU split: auto, off, or DRIVER_CPUS:SERVER_CPUS (e.g. 0:1)', 'auto')
    .option('--min-duration <d>', 'shortest measured run that counts as valid', durationArg, 1000)
    .option('--out <dir>', 'results root; each run gets its own new folder', 'results')
    .option('--run-id <id>', 'name of the run folder (default: timestamp + random)')
    .option('--model <path>', 'model artifact (default: the one make build trains)')
    .action(async (o) => {
      if (o.backend !== 'process') {
        if (o.fault) throw new UsageError('--fault needs --backend process (faults act on local processes)');
        if (o.model) throw new UsageError('--model needs --backend process (images carry the default model)');
        const ready =
          o.backend === 'swarm'
            ? (await import('./backends/swarm.js')).checkSwarmReady()
            : (await import('./backends/docker.js')).checkDockerReady();
        await ready.catch((err: Error) => {
          throw new UsageError(err.message);
        });
      }
      // Never a silent fallback: asked for k6, it runs k6 or stops here.
      if (o.driver === 'k6' && !which('k6')) throw new UsageError(K6_HINT);
      if (o.driver === 'k6' && o.fault)
        throw new UsageError('--fault needs --driver builtin (its per-second timeline)');
      if (o.runId !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(o.runId))
        throw new UsageError('--run-id may only contain letters, digits, ".", "_" and "-"');
      // Loaded on demand: charting is heavy and most commands (and every usage error) never need it.
      const { BenchAborted, plannedRuns, runBench } = await import('./bench.js');
      const { buildDocument } = await import('./report/document.js');
      const { toMarkdown } = await import('./report/render.js');
      const plan = PLANS[o.plan]!;
      const fault: FaultSpec | undefined = o.fault;
      const scenario = await loadScenario(o.scenario ?? (fault ? 'resilience' : plan.scenario));
      if (fault && fault.atMs + fault.durationMs >= scenario.durationMs)
        throw new UsageError(
          `--fault ${fault.text} ends after the scenario ${scenario.name} (${scenario.durationMs / 1000} s)`,
        );
      if (o.sloMs) scenario.slo = { ...scenario.slo, p99Ms: o.sloMs };
      requirePrometheusIf(o.with);
      const pinning = choosePinning(o.pin, which('taskset') !== undefined);
      const runOpts = {
        plan,
        scenario,
        topologies: topologies(o.topology),
        replicas: o.replicas ?? (fault ? [3] : plan.replicas),
        trials: o.trials ?? plan.trials,
        capacity: o.capacity && plan.capacity !== null,
        sweep: o.sweep && plan.sweepFeatures.length > 0 && o.backend === 'process',
        fault,
      };
      const runId = o.runId ?? newRunId();
      const progress = new Progress(plannedRuns(runOpts));
      const cleanupDetached =
        o.backend === 'process' ? undefined : async () => (await import('./backends/reap.js')).cleanupDetached();
      const ac = abortOnSignals(cleanupDetached);
      // An interrupted bench never ends as a success: should the event loop empty while it is
      // still unwinding (a promise nobody will settle), hand containers to the detached cleaner
      // and exit 130 rather than let Node exit 0 with everything still deployed.
      process.on('beforeExit', () => {
        if (!ac.signal.aborted) return;
        process.stderr.write('mlbench: interrupted; cleanup did not finish here, handing it over\n');
        void (cleanupDetached?.() ?? Promise.resolve()).finally(() => process.exit(130));
      });
      progress.log(
        `mlbench bench: run ${runId}, plan ${plan.name}, scenario ${scenario.name}, backend ${o.backend}; ${pinning.description}`,
      );
      try {
        const { dir, results } = await runBench({
          ...runOpts,
          backend: o.backend,
          withPrometheus: o.with === 'prometheus',
          driver: o.driver,
          outDir: resolve(o.out),
          runId,
          pinning,
          minDurationMs: o.minDuration,
          progress,
          signal: ac.signal,
          modelPath: o.model ? resolve(o.model) : undefined,
        });
        const headline = buildDocument(results).slice(5, 8);
        process.stdout.write(
          `\n${toMarkdown(headline)}\nresults: ${join(dir, 'results.json')}\nreport:  ${join(dir, 'report.html')}\n`,
        );
      } catch (err) {
        if (err instanceof BenchAborted || ac.signal.aborted) {
          process.stderr.write(
            `mlbench: interrupted; partial results saved as incomplete in ${join(resolve(o.out), runId)}\n`,
          );
          process.exit(130);
        }
        throw err;
      }
    });

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
      const { runPerf } = await import('./perf/suite.js');
      const { perfTable } = await import('./perf/table.js');
      const { writePerf } = await import('./results.js');
      const ac = abortOnSignals();
      const runId = newRunId();
      const pinning = choosePinning(o.pin, which('taskset') !== undefined);
      const t0 = Date.now();
      const res = await runPerf({
        rounds: o.rounds,
        durationMs: o.duration,
        connections: o.connections,
        memoryRequests: o.memoryRequests,
        pinning,
        runId,
        log: (line) => process.stderr.write(`${line}\n`),
        signal: ac.signal,
      });
      const table = perfTable(res);
      const file = await writePerf(resolve(o.out), res, table);
      process.stdout.write(`\n${table}\n${file} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
    });

  program
    .command('report')
    .description('re-render report.md and report.html from a results directory')
    .argument('<dir>', 'a results/<run-id> directory')
    .action(async (dir: string) => {
      const { writeReports } = await import('./report/write.js');
      const results = await readResults(resolve(dir));
      const { html } = await writeReports(resolve(dir), results);
      console.log(`wrote ${html}`);
    });

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
      await import('@mlbench/model').then((m) => m.writeFileAtomic(STATE_FILE, JSON.stringify(state, null, 2)));
      for (const c of d.components) console.log(`${c.name.padEnd(14)} ${c.url}  (pid ${c.pid})`);
      if (prom)
        console.log(`prometheus     ${prom.url}  (config compose/prometheus/process.yml, data .mlbench/prometheus)`);
      console.log(`entry: ${d.entryUrls.join(' ')} — Ctrl-C or \`mlbench down\` to stop`);
      const ac = abortOnSignals();
      await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
      await Promise.all([d.stop(), prom?.stop()]);
      await rm(STATE_FILE, { force: true });
    });

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
        const { reapOrphans } = await import('./backends/reap.js');
        const removed = await reapOrphans({ owner: o.owner });
        console.log(removed.length ? `removed ${removed.join(', ')}` : 'no orphaned mlbench bench projects');
        return;
      }
      let state: { pid: number };
      try {
        state = JSON.parse(await readFile(STATE_FILE, 'utf8'));
      } catch {
        throw new UsageError('nothing to stop: no topology started by `mlbench up` from this directory');
      }
      try {
        process.kill(state.pid, 'SIGTERM');
        console.log(`stopping mlbench up (pid ${state.pid})`);
      } catch {
        await rm(STATE_FILE, { force: true });
        console.log('mlbench up was no longer running; state cleared');
      }
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (e.code?.startsWith('commander.')) return e.exitCode || 2;
    process.stderr.write(`mlbench: ${e.message.split('\n')[0]}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
