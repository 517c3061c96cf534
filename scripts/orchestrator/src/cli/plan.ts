import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ExitError, type Io, int, positive } from './args.js';

const nonNegative = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 10_000) throw new InvalidArgumentError('--rtt-ms must be from 0 to 10000');
  return n;
};

/**
 * `mlbench plan`: the cheapest configuration per topology for a rate and an SLO, from
 * measured service times; `--validate`: the same model predicting what the run measured.
 * Exit 0, or 2 on bad input (unreadable results, nothing to plan from, a bad price sheet).
 */
export function planCommand(program: Command, io: Io): void {
  program
    .command('plan')
    .description('size and price both topologies for a rate and an SLO, from measured service times (or --validate)')
    .argument(
      '<dirs...>',
      'results/<run-id> directories, --repeat sets or dir,dir,… (several: one plan per model; --validate: medians across runs)',
    )
    .option('--rate <rps>', 'target arrival rate, requests per second', positive('--rate'))
    .option('--slo-ms <ms>', 'p99 latency objective, ms', positive('--slo-ms'))
    .option('--rtt-ms <ms>', 'network round trip per hop, ms (this machine measures loopback: 0)', nonNegative, 0)
    .option('--cores-per-replica <n>', 'cores (workers) per replica', int('--cores-per-replica', 1, 64), 1)
    .option('--prices <file>', 'price sheet (JSON, as prices/aws-fargate-us-east-1.json)')
    .addOption(
      new Option('--arrival <process>', 'arrival process to plan for')
        .choices(['poisson', 'constant'])
        .default('poisson'),
    )
    .option('--validate', 'predict every configuration the run measured and print the error of each')
    .option('--json', 'print JSON on stdout (nothing else)')
    .action(async (dirs: string[], o) => {
      const { workloadsOf } = await import('../planner/inputs.js');
      const { resolveSide } = await import('../compare/sides.js');
      // Each argument a results directory, a `bench --repeat` set, or dir,dir,…
      const sides = await Promise.all(
        dirs.map((d) => resolveSide(d).catch((err: Error) => Promise.reject(new ExitError(2, err.message)))),
      );
      const runs = sides.flatMap((s) => s.runs.map((res, i) => ({ dir: s.dirs[i]!, res })));
      const workloads = runs.flatMap(({ dir, res }) => workloadsOf(res, dir));
      if (!workloads.length)
        throw new ExitError(
          2,
          `${dirs.join(', ')}: nothing to plan from: no topology has a run that kept up with its load and CPU per replica (a --backend external run without a PID or container has none)`,
        );
      if (o.validate) {
        const { validate, combineValidations } = await import('../planner/validate.js');
        const { validationText, combinedText } = await import('../planner/text.js');
        const { modelOptions } = await import('../planner/plan.js');
        const checks = runs.map(({ dir, res }) => {
          const own = workloads.filter((w) => w.source === dir);
          const arrival = own[0]?.arrival ?? 'constant';
          return validate(res, own, modelOptions({ ...base(o), arrival }));
        });
        const combined = checks.length > 1 ? combineValidations(checks) : null;
        if (o.json)
          io.out(`${JSON.stringify(checks.length === 1 ? checks[0] : { runs: checks, combined }, null, 1)}\n`);
        else {
          for (const v of checks) io.out(validationText(v));
          if (combined) io.out(combinedText(combined, checks.length));
        }
        return;
      }
      if (o.rate === undefined || o.sloMs === undefined)
        throw new ExitError(2, 'plan needs --rate and --slo-ms (or --validate)');
      const { readPrices, DEFAULT_PRICES } = await import('../planner/prices.js');
      let prices: ReturnType<typeof readPrices>;
      try {
        prices = readPrices(o.prices ? resolve(o.prices) : DEFAULT_PRICES);
      } catch (err) {
        throw new ExitError(2, (err as Error).message);
      }
      const { planWorkload } = await import('../planner/plan.js');
      const plans = workloads.map((w) => planWorkload(w, { ...base(o), prices }));
      if (o.json) {
        const first = plans[0]!;
        io.out(
          `${JSON.stringify({ monolith: first.monolith, microservices: first.microservices, cheaper: first.cheaper, assumptions: first.assumptions, workload: first.workload, plans }, null, 1)}\n`,
        );
      } else {
        const { planText } = await import('../planner/text.js');
        io.out(planText(plans, prices.currency));
      }
    });
}

function base(o: { rate?: number; sloMs?: number; rttMs: number; coresPerReplica: number; arrival: string }) {
  return {
    rateRps: o.rate ?? 0,
    sloMs: o.sloMs ?? 0,
    rttMs: o.rttMs,
    coresPerReplica: o.coresPerReplica,
    arrival: o.arrival as 'poisson' | 'constant',
  };
}
