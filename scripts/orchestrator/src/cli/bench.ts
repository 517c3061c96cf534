import { join, resolve } from 'node:path';
import { PREPROCESS_SYNTAX } from '@mlbench/preprocess';
import { type Command, Option } from 'commander';
import { GATEWAY_KINDS, NGINX_HINT, nginxBinary } from '../backends/nginx.js';
import { BACKEND_NAMES, type Backend, type BackendName, backendFor } from '../backends/registry.js';
import { PRESETS } from '../bench/presets.js';
import { Progress } from '../bench/progress.js';
import { K6_HINT } from '../driver/k6.js';
import { newRunId } from '../results/index.js';
import { type FaultSpec, isNodeFault, NODES_ENV } from '../scenario/faults.js';
import { loadScenario } from '../scenario/scenario.js';
import { choosePinning, defaultDriverWorkers } from '../sys/machine.js';
import { which } from '../sys/which.js';
import {
  durationArg,
  faultArg,
  gatewayList,
  type Io,
  int,
  intList,
  positive,
  preprocessArg,
  requirePrometheusIf,
  sweepModelsArg,
  topologies,
  UsageError,
} from './args.js';
import { abortOnSignals } from './signals.js';

/** Everything `bench` checks before it starts anything: a wrong request costs one line, not a run. */
async function checkRequest(o: Record<string, any>): Promise<Backend> {
  if (o.backend === 'external' && (o.replicas?.length ?? 0) > 1)
    throw new UsageError('--backend external scales nothing: give one --replicas, the count that is running');
  const backend = await backendFor(
    o.backend as BackendName,
    { deployment: o.deployment, targets: o.target, allowRemote: o.allowRemote, statedReplicas: o.replicas?.[0] },
    topologies(o.topology),
  ).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  if (o.fault && isNodeFault(o.fault.kind)) {
    if (o.backend !== 'swarm')
      throw new UsageError(`--fault ${o.fault.text} needs --backend swarm (it stops a swarm node's engine)`);
    if (!process.env[NODES_ENV])
      throw new UsageError(
        `--fault ${o.fault.text} needs ${NODES_ENV}: a file naming each node's stop and start commands (swarm-cluster.sh writes one)`,
      );
  } else if (o.fault && !backend.faults)
    throw new UsageError(
      `--fault ${o.fault.text} needs --backend process or command (it signals a local process); --backend swarm takes node-stop@T`,
    );
  if (o.model && !backend.anyModel)
    throw new UsageError('--model needs --backend process (images carry the default model)');
  if (o.preprocess && o.backend !== 'process')
    throw new UsageError(
      '--preprocess needs --backend process (the images and commands take no PREPROCESS from mlbench)',
    );
  if (o.gateway === 'nginx') {
    if (o.backend !== 'process')
      throw new UsageError('--gateway nginx needs --backend process (mlbench starts nginx with a generated config)');
    if (o.preprocess) throw new UsageError('--gateway nginx takes no --preprocess (nginx forwards bodies unparsed)');
    if (!nginxBinary()) throw new UsageError(NGINX_HINT);
  }
  await backend.checkReady().catch((err: Error) => {
    throw new UsageError(err.message);
  });
  // Never a silent fallback: asked for k6, it runs k6 or stops here.
  if (o.driver === 'k6' && !which('k6')) throw new UsageError(K6_HINT);
  if (o.driver === 'k6' && o.fault) throw new UsageError('--fault needs --driver builtin (its per-second timeline)');
  if (o.driver === 'k6' && o.driverWorkers !== undefined)
    throw new UsageError('--driver-workers is for --driver builtin (k6 schedules its own VUs)');
  if (o.runId !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(o.runId))
    throw new UsageError('--run-id may only contain letters, digits, ".", "_" and "-"');
  return backend;
}

export function benchCommand(program: Command, io: Io): void {
  program
    .command('bench')
    .description('run a benchmark preset and write results.json, report.md and report.html')
    .addOption(
      new Option('--preset <name>', 'what to run: quick (< 1 min), full (make bench) or sweep (make bench-sweep)')
        .choices(Object.keys(PRESETS))
        .default('quick'),
    )
    // The flag's first name, kept for the Makefiles and scripts that have it.
    .addOption(new Option('--plan <name>', 'the same as --preset').choices(Object.keys(PRESETS)).hideHelp())
    .addOption(
      new Option('--topology <t>', 'what to deploy').choices(['monolith', 'microservices', 'both']).default('both'),
    )
    .addOption(new Option('--backend <b>', 'where to deploy').choices(BACKEND_NAMES).default('process'))
    .option(
      '--deployment <file>',
      'with --backend command: how to start each service; with --backend external: where each runs (YAML or JSON, e.g. reference/article/article.yaml)',
    )
    .option(
      '--target <topology=URLs>',
      'with --backend external: entry URLs of a running deployment, e.g. monolith=http://127.0.0.1:5000 (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--allow-remote', 'with --backend external: allow targets that are not on this machine')
    .addOption(new Option('--driver <d>', 'load generator').choices(['builtin', 'k6']).default('builtin'))
    .option(
      '--driver-workers <n>',
      'built-in driver processes, each sending an interleaved share of the schedule on a driver CPU of its own (default: the CPUs the pinning gives the driver)',
      int('--driver-workers', 1, 64),
    )
    .option('--scenario <name|path>', 'scenario from loadtests/scenarios, or a JSON file (default: the preset’s)')
    .option('--replicas <list>', 'replica counts, e.g. 1,2,4 (default: the preset’s)', intList)
    .option(
      '--gateways <list>',
      'gateway counts for the microservices, e.g. 1,2: each with every replica count, the tiers scaled apart (default 1)',
      gatewayList,
    )
    .addOption(
      new Option(
        '--gateway <kind>',
        'the microservices’ gateway: ours (fastify, @fastify/http-proxy) or Debian’s nginx',
      )
        .choices([...GATEWAY_KINDS])
        .default('fastify'),
    )
    .option('--trials <n>', 'trials per configuration (default: the preset’s)', int('--trials', 1, 100))
    .option('--slo-ms <ms>', 'p99 latency SLO for capacity search (default: the scenario’s)', positive('--slo-ms'))
    .option(
      '--fault <spec>',
      'inject a fault into one replica of the scaled tier in every trial: kill@T, stop@T, pause@T[:D], restart@T[:D]; or lose a swarm node running one: node-stop@T (default scenario: resilience, replicas 3)',
      faultArg,
    )
    .addOption(
      new Option('--with <extra>', 'run beside the bench: prometheus (local binary, results/<id>/prometheus)').choices([
        'prometheus',
      ]),
    )
    .option('--no-capacity', 'skip the capacity search')
    .option('--no-sweep', 'skip the model-cost sweep')
    .option(
      '--sweep-models <list>',
      'models of the sweep, e.g. linear-f8,rf-m,rf-xl,rf-m+512MB (default: the preset’s; see mlbench models)',
      sweepModelsArg,
    )
    .option('--pin <mode>', 'CPU split: auto, off, or DRIVER_CPUS:SERVER_CPUS (e.g. 0:1)', 'auto')
    .option('--min-duration <d>', 'shortest measured run that counts as valid', durationArg, 1000)
    .option('--out <dir>', 'results root; each run gets its own new folder', 'results')
    .option('--run-id <id>', 'name of the run folder (default: timestamp + random)')
    .option(
      '--repeat <k>',
      'run the whole bench K times (each in its own folder) and report how much each headline figure moves between repeats',
      int('--repeat', 1, 20),
      1,
    )
    .option('--model <path>', 'model artifact (default: the one make build trains)')
    .option(
      '--preprocess <spec>',
      `API-tier work on the monolith and the gateway, e.g. raw=8,standardize,expand=projection:512 (${PREPROCESS_SYNTAX}); process backend`,
      preprocessArg,
    )
    .action(async (o) => {
      const backend = await checkRequest(o);
      // Loaded on demand: charting is heavy and most commands (and every usage error) never need it.
      const { BenchAborted, runBench } = await import('../bench/runner.js');
      const { buildProgram } = await import('../bench/program.js');
      const { headlineBlocks } = await import('../report/document.js');
      const { toMarkdown } = await import('../report/render.js');
      const base = PRESETS[o.plan ?? o.preset]!;
      const sweepModels: string[] | undefined = o.sweepModels;
      const preset =
        sweepModels && o.sweep !== false
          ? {
              ...base,
              sweep: {
                ...(base.sweep ?? PRESETS.sweep!.sweep!),
                models: sweepModels,
                memoryModel: sweepModels.find((m) => m.includes('MB')) ?? null,
              },
            }
          : base;
      const fault: FaultSpec | undefined = o.fault;
      const scenario = await loadScenario(o.scenario ?? (fault ? 'resilience' : preset.scenario));
      if (fault && fault.atMs + fault.durationMs >= scenario.durationMs)
        throw new UsageError(
          `--fault ${fault.text} ends after the scenario ${scenario.name} (${scenario.durationMs / 1000} s)`,
        );
      if (o.sloMs) scenario.slo = { ...scenario.slo, p99Ms: o.sloMs };
      requirePrometheusIf(o.with);
      const pinning = choosePinning(o.pin, which('taskset') !== undefined);
      const program = buildProgram({
        preset,
        scenario,
        backend,
        driver: o.driver,
        topologies: topologies(o.topology),
        // What is running is what is measured: one deployment per topology, its count stated.
        replicas: backend.name === 'external' ? [1] : (o.replicas ?? (fault ? [3] : preset.replicas)),
        gateways: o.gateways,
        trials: o.trials ?? preset.trials,
        capacity: o.capacity,
        sweep: o.sweep,
        fault,
      });
      const baseRunId: string = o.runId ?? newRunId();
      const repeats: number = o.repeat;
      const runIdOf = (i: number) => (repeats > 1 ? `${baseRunId}-r${i + 1}` : baseRunId);
      let runId = runIdOf(0);
      const ac = abortOnSignals(backend.cleanupDetached);
      // An interrupted bench never ends as a success: should the event loop empty while it is
      // still unwinding (a promise nobody will settle), hand containers to the detached cleaner
      // and exit 130 rather than let Node exit 0 with everything still deployed.
      const onBeforeExit = () => {
        if (!ac.signal.aborted) return;
        io.err('mlbench: interrupted; cleanup did not finish here, handing it over\n');
        void (backend.cleanupDetached?.() ?? Promise.resolve()).finally(() => process.exit(130));
      };
      process.on('beforeExit', onBeforeExit);
      const workers: number = o.driver === 'k6' ? 1 : (o.driverWorkers ?? defaultDriverWorkers(pinning));
      const all: Awaited<ReturnType<typeof runBench>>['results'][] = [];
      try {
        for (let i = 0; i < repeats; i++) {
          runId = runIdOf(i);
          const progress = new Progress(program.runCount);
          const of = repeats > 1 ? ` (repeat ${i + 1} of ${repeats})` : '';
          progress.log(
            `mlbench bench: run ${runId}${of}, preset ${preset.name}, scenario ${scenario.name}, backend ${backend.name}; ${pinning.description}${workers > 1 ? `; ${workers} driver workers` : ''}`,
          );
          for (const note of program.notes) progress.log(note);
          const { dir, results } = await runBench(program, {
            withPrometheus: o.with === 'prometheus',
            outDir: resolve(o.out),
            runId,
            pinning,
            minDurationMs: o.minDuration,
            progress,
            signal: ac.signal,
            modelPath: o.model ? resolve(o.model) : undefined,
            preprocess: o.preprocess,
            gateway: o.gateway,
            driverWorkers: workers,
          });
          all.push(results);
          const headline = headlineBlocks(results);
          const { crossoverSentence } = await import('../report/sections/sweep.js');
          const sweepLine = results.sweep
            ? `\n${crossoverSentence(results.sweep)}\n${results.sweep.memoryAtEqualRate?.sentence ?? ''}\n`
            : '';
          io.out(
            `\n${toMarkdown(headline)}${sweepLine}\nresults: ${join(dir, 'results.json')}\nreport:  ${join(dir, 'report.html')}\n`,
          );
        }
        if (repeats > 1) {
          const { repeatSummary, repeatTable, writeRepeatSummary } = await import('../bench/repeat.js');
          const summary = repeatSummary(all);
          const file = await writeRepeatSummary(resolve(o.out), baseRunId, summary);
          io.out(`\n${repeatTable(summary)}\nrepeats: ${file}\n`);
        }
      } catch (err) {
        if (err instanceof BenchAborted || ac.signal.aborted) {
          io.err(`mlbench: interrupted; partial results saved as incomplete in ${join(resolve(o.out), runId)}\n`);
          process.exit(130);
        }
        throw err;
      } finally {
        ac.dispose();
        process.off('beforeExit', onBeforeExit);
      }
    });
}
