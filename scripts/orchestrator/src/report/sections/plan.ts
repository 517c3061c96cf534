import { type Workload, workloadsOf } from '../../planner/inputs.js';
import { modelOptions, type PlanOptions, planWorkload } from '../../planner/plan.js';
import { readPrices } from '../../planner/prices.js';
import { checkLabel, shapeOf, signed } from '../../planner/text.js';
import { validate } from '../../planner/validate.js';
import type { ResultsFile } from '../../results/index.js';
import { configLabel } from '../../results/labels.js';
import type { Block } from '../block.js';
import { renderSvg } from '../charts.js';
import { fmt } from '../format.js';

// The chart's plans simulate fewer requests than `mlbench plan` (20,000: 200 above the
// p99): at 200,000 its 22 plans took 28 s to write one report of a make bench here.
const REPORT_REQUESTS = 20_000;
// The table's rates are points of the chart's (10^0.2 apart): 1×, 2.5×, 10×, 25×, 100×.
// Validation at 100,000 requests (1,000 above the p99): `plan --validate` runs 200,000.
const VALIDATE_REQUESTS = 100_000;
const TABLE_POINTS = [0, 2, 5, 7, 10];

const money = (x: number) => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(1) : x.toPrecision(2)) : '–');

/** This machine's rate: the highest capacity it measured for the workload (the plans start there). */
function machineRate(r: ResultsFile): number {
  const caps = r.summary.map((s) => s.capacityRps ?? 0).filter((x) => x > 0);
  return caps.length ? Math.max(...caps) : Math.max(...r.summary.map((s) => s.targetRps), 1);
}

function costChart(points: { rate: number; mono: number; micro: number }[], switches: number[], currency: string) {
  return renderSvg({
    title: {
      text: 'Cost per hour to serve a rate at the SLO',
      subtext: 'cheapest configuration per topology, planned from this run’s service times',
      left: 'center',
      textStyle: { fontSize: 15 },
    },
    legend: { bottom: 0 },
    grid: { left: 70, right: 30, top: 60, bottom: 60 },
    tooltip: {},
    xAxis: {
      type: 'log',
      name: 'req/s',
      nameLocation: 'middle',
      nameGap: 30,
      axisLabel: { formatter: (v: number) => String(Number(v.toPrecision(2))) },
    },
    yAxis: { type: 'log', name: `${currency} / hour` },
    series: [
      {
        name: 'monolith',
        type: 'line',
        step: 'end',
        data: points.filter((p) => Number.isFinite(p.mono)).map((p) => [p.rate, p.mono]),
        markLine: switches.length
          ? {
              symbol: 'none',
              label: { formatter: 'cheaper topology changes' },
              lineStyle: { type: 'dashed' },
              data: switches.map((x) => ({ xAxis: x })),
            }
          : undefined,
      },
      {
        name: 'gateway + prediction',
        type: 'line',
        step: 'end',
        data: points.filter((p) => Number.isFinite(p.micro)).map((p) => [p.rate, p.micro]),
      },
    ],
  });
}

function plansOf(w: Workload, base: Omit<PlanOptions, 'rateRps'>, rates: number[]) {
  return rates.map((rate) => planWorkload(w, { ...base, rateRps: rate }));
}

/**
 * Planning past this machine: how well the model predicts what this run measured (so a
 * reader can judge an extrapolation), cost against rate for both topologies, and the plans
 * at this machine's rate up to 100× it.
 */
export function planSection(r: ResultsFile): Block[] {
  let workloads: Workload[];
  try {
    workloads = workloadsOf(r, r.runId).filter((w) => w.model === r.config.model.name);
  } catch {
    return [];
  }
  const w = workloads.find((x) => x.implementation === 'mlbench') ?? workloads[0];
  if (!w || w.topologies.length < 2) return [];
  const prices = readPrices();
  const sloMs = r.config.slo.p99Ms;
  const base = { sloMs, rttMs: 0, coresPerReplica: 1, arrival: 'poisson' as const, prices, requests: REPORT_REQUESTS };
  const v = validate(r, workloads, modelOptions({ rttMs: 0, arrival: w.arrival, requests: VALIDATE_REQUESTS }));
  const blocks: Block[] = [
    { h: 'Planning beyond this machine', level: 2 },
    {
      p: `\`mlbench plan\` sizes both topologies for a rate and an SLO from this run’s measured CPU per request, service-time shapes, idle cost and memory, by simulating every request through the tiers (assumptions: \`mlbench plan ${r.runId} --rate R --slo-ms ${sloMs}\` prints them). First, the same model predicting what this run measured, every server process on ${v.serverCores} core(s) as it ran, each configuration from its own runs. A single run’s measured capacity is one draw of a noisy measurement; \`mlbench plan --validate A B …\` sets the medians of several runs side by side and says how far the measurement itself moved:`,
    },
    {
      table: {
        head: ['configuration', 'capacity predicted', 'capacity measured (√(lo·hi))', 'error'],
        rows: v.capacity.map((c) => [
          checkLabel(c),
          fmt(c.predictedRps, 0),
          c.measuredHi === null
            ? `≥ ${c.measuredLo} (${c.limitedBy})`
            : `${c.measured} (${c.measuredLo} passed, ${c.measuredHi} failed)`,
          c.errorPct === null
            ? 'above the floor'
            : `${signed(c.errorPct)} %${c.withinBracket ? ' (inside the bracket)' : ''}`,
        ]),
      },
    },
    {
      table: {
        head: ['configuration', 'at', 'rate req/s', 'p99 predicted ms', 'p99 measured ms', 'error'],
        rows: v.latency.map((l) => [
          configLabel(l),
          l.at === 'trial' ? 'trials (base of the model)' : 'capacity probe',
          fmt(l.rateRps, 0),
          fmt(l.predictedP99Ms, 2),
          fmt(l.measuredP99Ms, 2),
          `${signed(l.errorPct)} %`,
        ]),
      },
    },
  ];
  const here = machineRate(r);
  const rates: number[] = [];
  for (let k = 0; k <= 10; k++) rates.push(Math.round(here * 10 ** (k / 5)));
  const curve = plansOf(w, base, rates);
  const points = curve.map((p) => ({
    rate: p.rateRps,
    mono: p.monolith?.feasible ? p.monolith.costPerHour : Number.NaN,
    micro: p.microservices?.feasible ? p.microservices.costPerHour : Number.NaN,
  }));
  const switches: number[] = [];
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!.cheaper?.topology;
    const b = curve[i]!.cheaper?.topology;
    if (a && b && a !== b) switches.push(Math.round(Math.sqrt(curve[i - 1]!.rateRps * curve[i]!.rateRps)));
  }
  blocks.push({
    chart: costChart(points, switches, prices.currency),
    caption: `${prices.name}; p99 ≤ ${sloMs} ms, Poisson arrivals, loopback round trips, 1 core a replica. ${
      switches.length
        ? `The cheaper topology changes near ${switches.join(', ')} req/s.`
        : `The cheaper topology is the same over the whole range: ${curve[0]?.cheaper?.topology ?? 'neither has a plan'}.`
    }`,
  });
  const table = TABLE_POINTS.map((i) => curve[i]).filter((p) => p !== undefined);
  blocks.push({
    table: {
      head: ['to serve, p99 ≤ ' + sloMs + ' ms', 'monolith', 'gateway + prediction', 'cheaper'],
      rows: table.map((p) => {
        const cell = (x: typeof p.monolith) =>
          x?.feasible
            ? `${shapeOf(x)} (${x.cores} core${x.cores === 1 ? '' : 's'}, ${fmt(x.memoryGB, 0)} GB, ${money(x.costPerHour)} ${prices.currency}/h)`
            : (x?.reason ?? 'no plan');
        return [
          `${fmt(p.rateRps, 0)} req/s`,
          cell(p.monolith),
          cell(p.microservices),
          p.cheaper ? `${p.cheaper.topology}, ${p.cheaper.byPct} % less` : '–',
        ];
      }),
    },
  });
  return blocks;
}
