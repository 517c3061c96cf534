import { configLabel } from '../results/labels.js';
import type { WorkloadPlan } from './plan.js';
import type { TopologyPlan } from './size.js';
import type { CombinedCheck, Validation } from './validate.js';

const money = (x: number) =>
  !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2);
const ms = (x: number) => (!Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const width = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => `  ${r.map((c, i) => c.padEnd(width[i]!)).join('  ')}`.trimEnd()).join('\n');
}

/** "monolith ×3" or "gateway ×2 + prediction ×5". */
export function shapeOf(p: TopologyPlan): string {
  if (!p.feasible) return 'none';
  return p.topology === 'monolith' ? `monolith ×${p.replicas}` : `gateway ×${p.gateways} + prediction ×${p.replicas}`;
}

function planRow(p: TopologyPlan | null, currency: string): (string | number)[] {
  if (!p) return ['–', 'not measured', '', '', '', '', '', ''];
  if (!p.feasible) return [p.topology, 'none', '', '', '', '', '', p.reason];
  return [
    p.topology,
    shapeOf(p),
    ms(p.p50Ms),
    ms(p.p99Ms),
    p.cores,
    p.memoryGB,
    `${money(p.costPerHour)} ${currency}`,
    `${money(p.costPerMillion)} ${currency}`,
  ];
}

export function planText(plans: WorkloadPlan[], currency: string): string {
  const out: string[] = [];
  for (const p of plans) {
    const who = p.workload.implementation === 'mlbench' ? '' : `, ${p.workload.implementation}'s services`;
    out.push(
      `To serve ${p.rateRps} req/s at p99 ≤ ${p.sloMs} ms: model ${p.workload.model}${who} (run ${p.workload.runId})`,
    );
    out.push(
      table(
        ['topology', 'configuration', 'p50 ms', 'p99 ms', 'cores', 'memory GB', 'per hour', 'per million'],
        [planRow(p.monolith, currency), planRow(p.microservices, currency)],
      ),
    );
    if (p.cheaper) {
      const other = p.cheaper.topology === 'monolith' ? 'microservices' : 'monolith';
      out.push(
        p.cheaper.byPerHour === 0
          ? '  Both cost the same.'
          : `  Cheaper: ${p.cheaper.topology}, by ${money(p.cheaper.byPerHour)} ${currency} an hour (${p.cheaper.byPct} % less than ${other}).`,
      );
    }
    out.push('  Measured inputs (per replica):');
    const rows = Object.entries(p.inputs).flatMap(([t, tiers]) =>
      tiers.map((x) => [
        t,
        x.tier,
        x.marginalCpuMs,
        x.idleCores,
        x.lowLoadCpuMs,
        `${x.serviceP50Ms} / ${x.serviceP99Ms}`,
        x.rssMB,
        x.fit,
      ]),
    );
    out.push(
      table(
        [
          'topology',
          'tier',
          'CPU ms/req',
          'idle cores',
          'CPU ms/req at low load',
          'service p50/p99 ms',
          'RSS MB',
          'fit',
        ],
        rows,
      ),
    );
    if (p.gatewayOwnMs !== null)
      out.push(
        `  The gateway's own time at low load: ${p.gatewayOwnMs} ms a request (its hop minus the prediction's).`,
      );
    out.push('  Assumptions:');
    for (const a of p.assumptions) out.push(`  - ${a}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** A signed figure: +3.1, −2 (as the tables print errors). */
export const signed = (x: number) => `${x > 0 ? '+' : ''}${x}`;

/** A configuration, and the sweep model (and its SLO) where it is not the run's own. */
export const checkLabel = (c: { model?: string; sloMs?: number } & Parameters<typeof configLabel>[0]) =>
  c.model ? `${configLabel(c)} ${c.model}${c.sloMs !== undefined ? ` (SLO ${c.sloMs} ms)` : ''}` : configLabel(c);

export function validationText(v: Validation): string {
  const out = [
    `Predicted against measured, run ${v.runId} (SLO p99 ≤ ${v.sloMs} ms; every server process on ${v.serverCores} core(s), as measured)`,
    'Capacity at the SLO:',
    table(
      ['configuration', 'predicted req/s', 'measured req/s', 'error', 'verdict'],
      v.capacity.map((c) => [
        checkLabel(c),
        c.predictedRps,
        c.measuredHi !== null
          ? `${c.measured} (${c.measuredLo} passed, ${c.measuredHi} failed)`
          : c.limitedBy === 'slo'
            ? `${c.measuredLo}`
            : `≥ ${c.measuredLo} (${c.limitedBy})`,
        c.errorPct === null
          ? 'n/a (a floor)'
          : `${signed(c.errorPct)} %${c.errorRangePct ? ` (${signed(c.errorRangePct[0])} to ${signed(c.errorRangePct[1])})` : ''}`,
        c.withinBracket
          ? c.measuredHi === null
            ? 'above the floor'
            : 'inside the bracket'
          : c.measuredHi === null && c.limitedBy !== 'slo'
            ? 'below the floor (by at least this)'
            : Math.abs(c.errorPct ?? 0) <= 20
              ? 'within ±20 %'
              : 'off by more than 20 %',
      ]),
    ),
    'p99 at a measured rate:',
    table(
      ['configuration', 'at', 'rate req/s', 'predicted ms', 'measured ms', 'error'],
      v.latency.map((l) => [
        configLabel(l),
        l.at === 'trial' ? 'trials (the base)' : 'capacity probe',
        Math.round(l.rateRps),
        ms(l.predictedP99Ms),
        ms(l.measuredP99Ms),
        `${signed(l.errorPct)} %`,
      ]),
    ),
    '  Each configuration is predicted from its own runs (its CPU per request and its base, measured beside the processes it shared the core with); a plan pools them.',
    '  Trials rows check the queueing only: the base is one of those runs. Capacity rows use the probes’ CPU, never their latency (but a probe’s at ≤ 75 % busy may be the base).',
    '  Errors are against the bracket’s geometric middle √(lo·hi), and in brackets against hi and lo: the search says only that capacity lies in [lo, hi).',
    '  A single run’s capacity is one draw of a noisy measurement: validate several runs (plan --validate A B …, or a --repeat set) to compare medians.',
  ];
  return `${out.join('\n')}\n`;
}

export function combinedText(cs: CombinedCheck[], runs: number): string {
  const range = (x: { median: number; min: number; max: number }) =>
    x.min === x.max ? `${x.median}` : `${x.median} (${x.min}–${x.max})`;
  return `${[
    `Across ${runs} runs: capacity at the SLO, medians (range); each prediction from its own run's measurements`,
    table(
      ['configuration', 'predicted req/s', 'measured req/s', 'error of medians', 'measured moved between runs'],
      cs.map((c) => [
        checkLabel(c),
        range(c.predicted),
        c.measured
          ? `${range(c.measured)}${c.floors.length ? `; floors ≥ ${c.floors.join(', ≥ ')}` : ''}`
          : `floors only: ≥ ${c.floors.join(', ≥ ')}`,
        c.errorPct === null ? 'n/a' : `${signed(c.errorPct)} %`,
        c.measuredSpreadPct === null ? '–' : `${c.measuredSpreadPct} %`,
      ]),
    ),
  ].join('\n')}\n`;
}
