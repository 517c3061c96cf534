import type { ResultsFile, RunResult, SummaryRow } from '../results/index.js';
import { configLabel, gatewaysOf, implementationOf } from '../results/labels.js';
import { parseCpuList } from '../sys/machine.js';
import type { Block } from './block.js';
import * as charts from './charts.js';
import { fmt } from './format.js';
import { intervalNote, spreadText, withinNoise } from './interval-text.js';
import { implementationsSection, trialMeanMs } from './sections/implementations.js';
import { planSection } from './sections/plan.js';
import { sweepSection } from './sections/sweep.js';

export type { Block };

function headline(rows: SummaryRow[]): Block {
  return {
    table: {
      head: [
        'topology',
        'replicas',
        'hops',
        'rate req/s',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'capacity req/s @SLO',
        'server CPU ms / 1k req',
        'peak RSS MB',
        'gateway own ms',
        'valid trials',
      ],
      rows: rows.map((r) => [
        implementationOf(r) === 'mlbench' ? r.topology : `${implementationOf(r)} ${r.topology}`,
        gatewaysOf(r) > 1 ? `${r.replicas} (${gatewaysOf(r)} gateways)` : r.replicas,
        r.hopCount,
        `${fmt(r.achievedRps.median, 0)} / ${fmt(r.targetRps, 0)}`,
        spreadText(r.p50Ms, 3),
        spreadText(r.p99Ms, 3),
        spreadText(r.p999Ms, 3),
        capacityCell(r),
        spreadText(r.cpuSecondsPer1k, 1, 1000),
        Object.entries(r.rssMaxMB)
          .map(([k, v]) => `${k} ${fmt(v, 0)}`)
          .join(', '),
        fmt(r.gatewayOverheadMs, 3),
        `${r.validTrials}/${r.trials}`,
      ]),
    },
  };
}

/** What the run says about the article's "50 ms vs 70 ms" and "microservices use resources better". */
export function verdict(r: ResultsFile): Block[] {
  // With several implementations, the verdict is about ours (the others have their own section).
  const impls = new Set(r.summary.map(implementationOf));
  const own = impls.has('mlbench') ? 'mlbench' : [...impls][0];
  const rows = r.summary.filter((s) => implementationOf(s) === own);
  const one = rows.filter((s) => s.replicas === Math.min(...rows.map((x) => x.replicas)));
  const mono = one.find((s) => s.topology === 'monolith');
  // The article's comparison: one gateway (further gateway counts are in the table).
  const micro =
    one.find((s) => s.topology === 'microservices' && gatewaysOf(s) === 1) ??
    one.find((s) => s.topology === 'microservices');
  if (!mono || !micro || mono.validTrials === 0 || micro.validTrials === 0)
    return [{ p: 'Both topologies need valid trials for a comparison; see the runs below.' }];
  const mMean = trialMeanMs(r, mono) ?? 0;
  const sMean = trialMeanMs(r, micro) ?? 0;
  const lines = [
    `The article reports an average of 50 ms for the monolith and 70 ms for microservices (+20 ms, +40%). ` +
      `Here, at ${fmt(mono.targetRps, 0)} req/s with ${mono.replicas} replica(s), the mean is ${fmt(mMean, 3)} ms vs ${fmt(sMean, 3)} ms ` +
      `(+${fmt(sMean - mMean, 3)} ms, ${mMean > 0 ? `${fmt(((sMean - mMean) / mMean) * 100, 0)}%` : '–'}); ` +
      `p99 ${fmt(mono.p99Ms.median, 3)} ms vs ${fmt(micro.p99Ms.median, 3)} ms` +
      (withinNoise(mono.p99Ms, micro.p99Ms)
        ? ': their confidence intervals overlap, so the p99 difference is within noise, not a win.'
        : mono.p99Ms.ci && micro.p99Ms.ci
          ? ' (confidence intervals apart).'
          : '.') +
      (withinNoise(mono.p50Ms, micro.p50Ms) ? ' The p50s differ within noise (intervals overlap).' : ''),
    micro.gatewayOverheadMs !== null
      ? `The gateway's own server-side time is ${fmt(micro.gatewayOverheadMs, 3)} ms per request (gateway histogram minus prediction histogram): ` +
        hopVerdict(micro.gatewayOverheadMs)
      : 'The gateway hop could not be isolated (no server-side histograms).',
    `CPU per 1,000 requests (all server processes): monolith ${fmt(mono.cpuSecondsPer1k.median * 1000, 1)} ms, ` +
      `microservices ${fmt(micro.cpuSecondsPer1k.median * 1000, 1)} ms — the claim that microservices "use resources better" ` +
      (micro.cpuSecondsPer1k.median > mono.cpuSecondsPer1k.median
        ? 'does not hold for CPU per request here: every request is handled twice.'
        : 'holds for CPU per request in this run.'),
  ];
  if (mono.capacityRps !== null && micro.capacityRps !== null) {
    // A search that never failed found a floor, not the limit: say so, and bound the ratio the same way.
    const cap = (r: SummaryRow) =>
      `${r.capacityIsLowerBound ? 'at least ' : ''}${r.capacityRps} req/s${r.capacityLimitedBy === 'load-generator' ? ' (load generator limit)' : ''}`;
    const ratio = fmt(micro.capacityRps / Math.max(1, mono.capacityRps), 2);
    const ratioText =
      mono.capacityIsLowerBound && micro.capacityIsLowerBound
        ? 'ratio unknown: neither search found its limit'
        : mono.capacityIsLowerBound
          ? `at most ${ratio}×`
          : micro.capacityIsLowerBound
            ? `at least ${ratio}×`
            : `${ratio}×`;
    lines.push(
      `Capacity at the SLO: monolith ${cap(mono)}, microservices ${cap(micro)} on the same cores (${ratioText}).`,
    );
  }
  return [{ list: lines }];
}

/** The measured hop against the article's +20 ms, in words that follow the number. */
export function hopVerdict(ms: number): string {
  const where = 'framework, serialization, queueing, or the network of a real cluster';
  if (ms <= 2)
    return `the extra hop costs ${fmt(ms, 3)} ms here, a tenth of the article's +20 ms or less, so differences of tens of milliseconds come from elsewhere (${where}).`;
  if (ms < 20)
    return `the extra hop costs ${fmt(ms, 3)} ms here, less than the article's +20 ms; the rest of such a difference comes from elsewhere (${where}).`;
  return `the extra hop costs ${fmt(ms, 3)} ms here, as much as the article's +20 ms or more: look at the gateway's queueing and CPU in the runs below.`;
}

function runsTable(runs: RunResult[]): Block {
  return {
    table: {
      head: [
        'phase',
        'topology',
        'replicas',
        'trial',
        'F',
        'target',
        'achieved',
        'p50',
        'p99',
        'p99.9',
        'max',
        'closed-loop p99',
        'errors',
        'dropped',
        'driver CPU',
        'lag p99',
        'valid',
        'SLO',
      ],
      rows: runs.map((r) => [
        r.phase,
        r.topology,
        r.replicas,
        r.trial,
        r.features,
        r.targetRps,
        r.achievedRps,
        fmt(r.latencyMs.p50, 3),
        fmt(r.latencyMs.p99, 3),
        r.trustworthyPercentiles.includes('p99.9') ? fmt(r.latencyMs.p999, 3) : `(${fmt(r.latencyMs.p999, 3)})`,
        fmt(r.latencyMs.max, 3),
        fmt(r.serviceTimeMs.p99, 3),
        r.errors.count,
        r.dropped,
        `${fmt((r.resources.driver?.cpuCores ?? 0) * 100, 0)}%${r.driverLate ? ' LATE' : ''}`,
        fmt(r.scheduleLagMs.p99, 3),
        r.valid ? 'yes' : `no: ${r.invalidReasons.join('; ')}`,
        r.sloMet ? 'met' : 'missed',
      ]),
    },
  };
}

/** Capacity as the bound it is: "12000", "≥ 16000 (load generator limit)", "≥ 40000 (search range)". */
export function capacityCell(
  r: Pick<SummaryRow, 'capacityRps' | 'capacityIsLowerBound' | 'capacityLimitedBy' | 'capacityInterval'>,
): string {
  if (r.capacityRps === null) return '–';
  // The search's bracket: the next probe up failed, so the capacity is below it.
  if (!r.capacityIsLowerBound)
    return r.capacityInterval?.hi ? `${r.capacityRps} (fails at ${r.capacityInterval.hi})` : `${r.capacityRps}`;
  const why =
    r.capacityLimitedBy === 'load-generator'
      ? ' (load generator limit)'
      : r.capacityLimitedBy === 'search-range'
        ? ' (search range)'
        : '';
  return `≥ ${r.capacityRps}${why}`;
}

/**
 * The headline: the summary table, how sure each figure is, and how to read it. The CLI
 * prints these after a bench; the report puts them under its "Headline" heading.
 */
export function headlineBlocks(r: ResultsFile): Block[] {
  return [
    headline(r.summary),
    { p: intervalNote(r.summary) },
    {
      p: 'Values are the median over valid trials with [min–max]. Capacity is the highest probed arrival rate meeting the SLO (a rate passes only if every probe at it passes, or 2 of 3 where two disagreed; failed = errors + dropped arrivals); “≥” means it is a bound: “load generator limit” when the load generator could not hold a higher rate (those probes judge the generator, not the server), “search range” when no probe failed (raise maxProbes or use --preset full).',
    },
  ];
}

export function buildDocument(r: ResultsFile): Block[] {
  const m = r.machine;
  const c = r.config;
  const trials = r.runs.filter((x) => x.phase === 'trial');
  const fairness = new Map<string, string>();
  for (const t of trials)
    fairness.set(t.topology, `${t.topology}: ${t.hopCount} hop(s) from load generator to model; ${t.entrySpreading}`);
  const saturated = r.runs.filter((x) => x.driverLate).length;
  const serverCpus = cpuCount(c.pinning?.serverCpus);
  const maxReplicas = Math.max(0, ...c.replicas);
  const invalid = r.runs.filter((x) => !x.valid).length;
  const blocks: Block[] = [
    { h: `mlbench report — run ${r.runId}`, level: 2 },
    {
      p:
        `Status: **${r.status}**${r.statusReason ? ` (${r.statusReason})` : ''}. Started ${r.startedAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}. ` +
        `Preset ${c.plan}, backend ${c.backend}${c.implementation && c.implementation !== 'mlbench' ? ` (services: ${c.implementation}, started from its deployment file)` : ''}${c.gateway === 'nginx' ? `, gateway nginx${c.gatewayVersion ? ` ${c.gatewayVersion}` : ''} (not ours)` : ''}, driver ${c.driver}${(c.driverWorkers ?? 1) > 1 ? ` (${c.driverWorkers} worker processes, interleaved shares of one schedule; a run is late if any worker was)` : ''}, scenario ${c.scenario?.name} (${c.scenario?.executor}, ${c.scenario?.arrival} arrivals), ` +
        `SLO p99 ≤ ${c.slo?.p99Ms} ms and errors ≤ ${(c.slo?.errorRate ?? 0) * 100}%, ${c.trials} trial(s), replicas ${(c.replicas ?? []).join(', ')}.`,
    },
    {
      p:
        `Machine: ${m.cpuModel}, ${m.logicalCpus} CPUs, ${m.memoryGB} GB, ${m.platform}; Node ${m.node}; ` +
        `${Object.entries(m.packages ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}; commit ${m.gitCommit}. Core split: ${c.pinning?.description}. ` +
        `Model ${c.model?.name}@${c.model?.version} (${c.model?.features} features).`,
    },
    {
      list: [
        ...fairness.values(),
        'Latency is measured from each request’s scheduled send time (open loop); dropped = arrivals that found the in-flight cap full.',
        ...(serverCpus !== undefined && maxReplicas + 1 > serverCpus
          ? [
              `All server processes share ${serverCpus} CPU(s): more replicas add processes, not cores, so on this machine “scaling” measures contention; on more cores (or hosts) the same run measures real scale-out.`,
            ]
          : []),
      ],
    },
    { h: 'Headline', level: 3 },
    ...headlineBlocks(r),
    ...verdict(r),
    ...implementationsSection(r),
  ];
  const k6WithoutBalancer = c.driver === 'k6' && c.topologies.includes('monolith') && c.replicas.some((n) => n > 1);
  if (saturated || invalid || k6WithoutBalancer)
    blocks.push({
      list: [
        ...(k6WithoutBalancer
          ? [
              'k6 spreads load over monolith replicas by plain round robin, without the client-side balancer the built-in driver runs (health checks, ejection, one retry): a failing monolith replica costs clients errors that the gateway would have retried for microservices.',
            ]
          : []),
        ...(saturated
          ? [
              `${saturated} run(s) had a load generator behind its schedule (schedule lag p99 > 2 ms, marked LATE: requests left late because the driver was saturated or was not given the CPU): latencies count from the scheduled send time, so they include that delay.`,
            ]
          : []),
        ...(invalid
          ? [`${invalid} run(s) are marked invalid (too short or too few requests) and are left out of the headline.`]
          : []),
      ],
    });
  blocks.push(
    { h: 'Charts', level: 3 },
    { chart: charts.spectrumChart(r), caption: 'Latency percentile spectrum' },
    { chart: charts.capacityChart(r), caption: 'Capacity vs replicas' },
    { chart: charts.capacityProbeChart(r), caption: 'Capacity search probes' },
    { chart: charts.cpuChart(r), caption: 'CPU per 1k requests' },
    { chart: charts.memoryChart(r), caption: 'Memory per component' },
    { chart: charts.hopChart(r), caption: 'Per-hop latency breakdown' },
    { chart: charts.sweepChart(r), caption: 'Model-cost sweep' },
    { chart: charts.sweepMemoryChart(r), caption: 'Memory at the sweep’s common rates' },
  );
  if (r.capacity.length) {
    blocks.push(
      { h: 'Capacity search', level: 3 },
      {
        table: {
          head: [
            'topology',
            'replicas',
            'capacity req/s',
            'limited by',
            'first failure req/s',
            'probes (rate: p99 ms, ✓ pass, ✗ fail, ? load generator late)',
            'decisions',
          ],
          rows: r.capacity.map((x) => [
            x.topology,
            x.replicas,
            x.limitedBy === 'slo' ? x.rateRps : `≥ ${x.rateRps}`,
            x.limitedBy,
            x.failedAtRps ?? '–',
            x.probes
              .map(
                (p) =>
                  `${p.rateRps}: ${fmt(p.p99Ms, 2)}${p.verdict === 'load-generator' ? ' ?' : p.pass ? ' ✓' : ' ✗'}`,
              )
              .join('; '),
            (x.decisions ?? []).map((d) => `${d.rateRps}: ${d.rule}`).join('; ') || '–',
          ]),
        },
      },
    );
  }
  blocks.push(...sweepSection(r));
  try {
    blocks.push(...planSection(r));
  } catch (err) {
    // The report is still worth writing; say what the planner could not do.
    blocks.push({ h: 'Planning beyond this machine', level: 2 }, { p: `Not planned: ${(err as Error).message}` });
  }
  const faults = r.runs.filter((x) => x.fault);
  if (faults.length) {
    const mechanisms = new Map(faults.map((x) => [x.topology, `${x.topology}: ${x.entrySpreading}`]));
    blocks.push(
      { h: 'Resilience', level: 3 },
      {
        p: 'One replica of the scaled tier (a monolith replica, or a prediction replica behind the gateway) is hit by the fault while the load runs. Both tiers are protected by the same balancer:',
      },
      { list: [...mechanisms.values()] },
      {
        table: {
          head: [
            'topology',
            'replicas',
            'trial',
            'fault',
            'target',
            'at s',
            'requests lost',
            'error rate 10 s after',
            'errors back to 0 after s',
            'restarted replica serves after s',
            'p99 during fault ms',
            'p99 whole run ms',
            'client retries',
          ],
          rows: faults.map((x) => {
            const f = x.fault!;
            return [
              x.topology,
              x.replicas,
              x.trial,
              f.spec,
              f.target,
              fmt(f.injectedAtS, 2),
              f.requestsLost,
              `${fmt(f.errorRate10s * 100, 3)}%`,
              fmt(f.timeToZeroErrorsS, 2),
              f.restartedServesAfterS === null ? '–' : fmt(f.restartedServesAfterS, 2),
              fmt(f.p99DuringFaultMs, 2),
              fmt(x.latencyMs.p99, 2),
              f.clientRetries,
            ];
          }),
        },
      },
      ...faults.map((x) => ({
        chart: charts.faultTimelineChart(x),
        caption: `Fault timeline ${configLabel(x)} trial ${x.trial}`,
      })),
    );
  }
  const firstTrial = trials.find((x) => x.valid);
  if (firstTrial)
    blocks.push(
      { h: 'Timeline of one trial', level: 3 },
      { chart: charts.timelineChart(firstTrial), caption: 'Timeline' },
    );
  blocks.push({ h: 'Every run', level: 3 }, runsTable(r.runs), {
    p: 'p99.9 in parentheses: fewer than 5,000 requests, not trustworthy. “closed-loop p99” is the same run timed from the actual send, as a closed-loop tool would report it.',
  });
  return blocks;
}

/** Number of CPUs in a taskset list such as "1", "1-3" or "0,2-3"; undefined when not pinned. */
function cpuCount(list: string | undefined): number | undefined {
  return list ? parseCpuList(list).length : undefined;
}
