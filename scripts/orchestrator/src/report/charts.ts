import * as echarts from 'echarts';
import type { ResultsFile, RunResult } from '../results/index.js';
import { componentKind, configLabel } from '../results/labels.js';
import { decodeHistogram, mergeHistograms } from '../stats/histogram.js';
import { gatewayOverheadMs } from '../stats/summary.js';

/** Render one ECharts option to an SVG string on the server (no browser, no JS in the page). */
export function renderSvg(option: echarts.EChartsCoreOption, width = 760, height = 380): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({ animation: false, backgroundColor: '#fff', ...option });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

const title = (text: string, subtext?: string) => ({ text, subtext, left: 'center', textStyle: { fontSize: 15 } });
const legend = { bottom: 0 };
const grid = { left: 70, right: 30, top: 60, bottom: 60 };

const validTrials = (r: ResultsFile) => r.runs.filter((x) => x.phase === 'trial' && x.valid);
const key = configLabel;

function groups(runs: RunResult[]): Map<string, RunResult[]> {
  const m = new Map<string, RunResult[]>();
  for (const r of runs) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

const SPECTRUM = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];

/** Latency by percentile from the histograms merged over trials (not averaged). */
export function spectrumChart(r: ResultsFile): string | undefined {
  const g = groups(validTrials(r));
  if (g.size === 0) return undefined;
  return spectrumSvg(
    [...g].map(([name, runs]) => spectrumSeries(name, runs)),
    'from scheduled send time; trials merged as histograms',
  );
}

/** One line of the spectrum: the runs' histograms merged, percentiles with enough requests, max. */
export function spectrumSeries(name: string, runs: RunResult[], dashed = false) {
  const h = mergeHistograms(runs.map((x) => x.latencyHistogram).filter((x) => x !== ''));
  const pts: [string, number][] = SPECTRUM.filter((p) => h.totalCount >= 5 / (1 - p / 100)).map((p) => [
    `p${p}`,
    Math.round(h.getValueAtPercentile(p)) / 1000,
  ]);
  pts.push(['max', h.maxValue / 1000]);
  return { name, type: 'line', data: pts, symbolSize: 6, ...(dashed ? { lineStyle: { type: 'dashed' } } : {}) };
}

export function spectrumSvg(series: ReturnType<typeof spectrumSeries>[], subtitle: string): string {
  return renderSvg({
    title: title('Latency percentile spectrum', subtitle),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'category', name: 'percentile' },
    yAxis: { type: 'log', name: 'ms', logBase: 10 },
    series,
  });
}

export function capacityChart(r: ResultsFile): string | undefined {
  if (r.capacity.length === 0) return undefined;
  const replicas = [...new Set(r.capacity.map((c) => c.replicas))].sort((a, b) => a - b);
  const topologies = [...new Set(r.capacity.map((c) => c.topology))];
  return renderSvg({
    title: title(`Capacity at SLO (p99 ≤ ${r.config.slo.p99Ms} ms, errors < 0.1%)`),
    legend,
    grid,
    xAxis: { type: 'category', name: 'replicas', data: replicas.map(String) },
    yAxis: { type: 'value', name: 'req/s' },
    series: topologies.map((t) => ({
      name: t,
      type: 'bar',
      label: { show: true, position: 'top' },
      data: replicas.map((n) => r.capacity.find((c) => c.topology === t && c.replicas === n)?.rateRps ?? 0),
    })),
  });
}

export function capacityProbeChart(r: ResultsFile): string | undefined {
  if (r.capacity.length === 0) return undefined;
  return renderSvg({
    title: title('Capacity search probes', 'each point one probe run; filled = met the SLO'),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'value', name: 'offered req/s' },
    yAxis: { type: 'log', name: 'p99 ms' },
    series: r.capacity.map((c) => ({
      name: key(c),
      type: 'scatter',
      data: c.probes.map((p) => ({
        value: [p.rateRps, Math.max(p.p99Ms, 0.01)],
        itemStyle: p.pass ? {} : { opacity: 0.35 },
      })),
    })),
  });
}

function perComponentKind(runs: RunResult[], pick: (x: RunResult, name: string) => number, reduce: 'median' | 'max') {
  const kinds = new Map<string, number[]>();
  for (const run of runs) {
    const byKind = new Map<string, number>();
    for (const name of Object.keys(run.resources)) {
      if (name === 'servers') continue;
      const kind = componentKind(name);
      const v = pick(run, name);
      byKind.set(kind, reduce === 'max' ? Math.max(byKind.get(kind) ?? 0, v) : (byKind.get(kind) ?? 0) + v);
    }
    for (const [k, v] of byKind) kinds.set(k, [...(kinds.get(k) ?? []), v]);
  }
  const out = new Map<string, number>();
  for (const [k, vs] of kinds) {
    const s = [...vs].sort((a, b) => a - b);
    out.set(k, reduce === 'max' ? s[s.length - 1]! : s[Math.floor(s.length / 2)]!);
  }
  return out;
}

export function cpuChart(r: ResultsFile): string | undefined {
  const g = groups(validTrials(r));
  if (g.size === 0) return undefined;
  const names = [...g.keys()];
  const per = names.map((n) =>
    perComponentKind(g.get(n)!, (x, c) => x.resources[c]!.cpuSecondsPer1kRequests * 1000, 'median'),
  );
  // The driver spins between sends for timing precision, so its CPU is no cost of the system.
  const kinds = [...new Set(per.flatMap((m) => [...m.keys()]))].filter((k) => k !== 'driver');
  return renderSvg({
    title: title('CPU per 1,000 requests', 'CPU-ms by server process kind, median over trials'),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'category', data: names },
    yAxis: { type: 'value', name: 'CPU ms / 1k req' },
    series: kinds.map((k) => ({
      name: k,
      type: 'bar',
      stack: 'servers',
      data: per.map((m) => Math.round((m.get(k) ?? 0) * 10) / 10),
    })),
  });
}

export function memoryChart(r: ResultsFile): string | undefined {
  const g = groups(validTrials(r));
  if (g.size === 0) return undefined;
  const names = [...g.keys()];
  const per = names.map((n) => perComponentKind(g.get(n)!, (x, c) => x.resources[c]!.rssMaxMB, 'max'));
  const kinds = [...new Set(per.flatMap((m) => [...m.keys()]))].filter((k) => k !== 'driver');
  return renderSvg({
    title: title('Peak memory (RSS) per process', 'largest replica of each kind'),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'category', data: names },
    yAxis: { type: 'value', name: 'MB' },
    series: kinds.map((k) => ({ name: k, type: 'bar', data: per.map((m) => m.get(k) ?? 0) })),
  });
}

/** Where a request's time goes: model service, gateway's own work, network + client. */
export function hopChart(r: ResultsFile): string | undefined {
  const g = groups(validTrials(r));
  if (g.size === 0) return undefined;
  const names = [...g.keys()];
  const med = (xs: number[]) => {
    const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    return s.length ? Math.round(s[Math.floor(s.length / 2)]! * 1000) / 1000 : 0;
  };
  const rows = names.map((n) => {
    const runs = g.get(n)!;
    const model = med(runs.map((x) => (x.hops.monolith ?? x.hops.prediction)?.meanMs ?? Number.NaN));
    const gw = med(runs.map((x) => gatewayOverheadMs(x) ?? Number.NaN));
    const entry = med(runs.map((x) => (x.hops.gateway ?? x.hops.monolith)?.meanMs ?? Number.NaN));
    const client = med(runs.map((x) => x.latencyMs.mean));
    return { model, gw, net: Math.max(0, Math.round((client - entry) * 1000) / 1000) };
  });
  return renderSvg({
    title: title('Mean latency by hop', 'server-side histograms of each service vs the client’s mean'),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'category', data: names },
    yAxis: { type: 'value', name: 'ms' },
    series: [
      { name: 'model service (server time)', type: 'bar', stack: 'a', data: rows.map((x) => x.model) },
      { name: 'gateway own time', type: 'bar', stack: 'a', data: rows.map((x) => x.gw) },
      { name: 'network, queueing, client', type: 'bar', stack: 'a', data: rows.map((x) => x.net) },
    ],
  });
}

export function sweepChart(r: ResultsFile): string | undefined {
  if (r.sweep) return crossoverChart(r);
  // Results written before model families: linear feature counts at a fixed rate.
  const sweep = r.runs.filter((x) => x.phase === 'sweep');
  if (sweep.length === 0) return undefined;
  const topologies = [...new Set(sweep.map((x) => x.topology))];
  const features = [...new Set(sweep.map((x) => x.features))].sort((a, b) => a - b);
  const series = topologies.flatMap((t) =>
    (['p50', 'p99'] as const).map((p) => ({
      name: `${t} ${p}`,
      type: 'line',
      data: features.map((f) => sweep.find((x) => x.topology === t && x.features === f)?.latencyMs[p] ?? null),
    })),
  );
  return renderSvg({
    title: title('Model cost sweep', 'latency vs number of features (1 replica, fixed rate)'),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'category', name: 'features', data: features.map(String) },
    yAxis: { type: 'log', name: 'ms' },
    series,
  });
}

/**
 * The crossover: microservices' capacity per core as a share of the monolith's, and its p50
 * overhead, against the model's inference time (log axis), with the 0.9× and +10 % lines.
 */
export function crossoverChart(r: ResultsFile): string | undefined {
  const ratios = r.sweep?.crossover.ratios.filter((x) => x.inferenceMs > 0) ?? [];
  if (ratios.length === 0) return undefined;
  return renderSvg({
    title: title('Where the extra hop stops mattering', 'microservices ÷ monolith, one replica each on the same cores'),
    legend,
    grid: { ...grid, right: 70 },
    tooltip: {},
    xAxis: {
      type: 'log',
      name: 'inference ms',
      nameLocation: 'middle',
      nameGap: 30,
      // Log ticks come as 0.00009999999999999999: two significant digits say the same.
      axisLabel: { formatter: (v: number) => String(Number(v.toPrecision(2))) },
    },
    yAxis: [
      { type: 'value', name: 'capacity ratio', min: 0, max: 1.2 },
      { type: 'value', name: 'p50 overhead %', position: 'right' },
    ],
    series: [
      {
        name: 'capacity per core, microservices ÷ monolith',
        type: 'line',
        data: ratios.filter((x) => x.capacityRatio !== null).map((x) => [x.inferenceMs, x.capacityRatio]),
        markLine: { symbol: 'none', data: [{ yAxis: 0.9, name: '0.9×' }], lineStyle: { type: 'dashed' } },
      },
      {
        name: 'p50 overhead of microservices, %',
        type: 'line',
        yAxisIndex: 1,
        data: ratios.filter((x) => x.p50Overhead !== null).map((x) => [x.inferenceMs, x.p50Overhead! * 100]),
        markLine: { symbol: 'none', data: [{ yAxis: 10, name: '+10 %' }], lineStyle: { type: 'dotted' } },
      },
    ],
  });
}

/** Resident memory per topology at each sweep point's common rate. */
export function sweepMemoryChart(r: ResultsFile): string | undefined {
  const pts = r.sweep?.points.filter((p) => p.totalResidentMB !== null) ?? [];
  if (pts.length === 0) return undefined;
  const models = [...new Set(pts.map((p) => p.model))];
  return renderSvg({
    title: title('Resident memory at the common rate', 'every process of the topology, peak RSS'),
    legend,
    grid,
    tooltip: {},
    xAxis: { type: 'category', data: models },
    yAxis: { type: 'value', name: 'MB' },
    series: ['monolith', 'microservices'].map((t) => ({
      name: t,
      type: 'bar',
      data: models.map((m) => pts.find((p) => p.model === m && p.topology === t)?.totalResidentMB ?? null),
    })),
  });
}

export function timelineChart(run: RunResult): string {
  return renderSvg(
    {
      title: title(`Timeline: ${key(run)} ${run.phase} ${run.trial}`, 'per second of scheduled send time'),
      legend,
      grid,
      tooltip: {},
      xAxis: { type: 'category', name: 's', data: run.timeline.map((b) => b.t) },
      yAxis: [
        { type: 'value', name: 'p99 ms' },
        { type: 'value', name: 'errors + dropped' },
      ],
      series: [
        { name: 'p99', type: 'line', data: run.timeline.map((b) => b.p99Ms) },
        { name: 'errors + dropped', type: 'bar', yAxisIndex: 1, data: run.timeline.map((b) => b.errors + b.dropped) },
      ],
    },
    760,
    300,
  );
}

export { decodeHistogram };

/** Errors and p99 per second through a fault, the injection (and restore) marked. */
export function faultTimelineChart(run: RunResult): string | undefined {
  const f = run.fault;
  if (!f) return undefined;
  const marks = [{ xAxis: String(Math.floor(f.injectedAtS)), label: { formatter: `${f.kind}` } }];
  if (f.restoredAtS !== null)
    marks.push({ xAxis: String(Math.floor(f.restoredAtS)), label: { formatter: 'restored' } });
  return renderSvg(
    {
      title: title(`${key(run)}: ${f.spec} on ${f.target}`, 'per second of scheduled send time'),
      legend,
      grid,
      tooltip: {},
      xAxis: { type: 'category', name: 's', data: run.timeline.map((b) => String(b.t)) },
      yAxis: [
        { type: 'log', name: 'p99 ms', min: 0.1 },
        { type: 'value', name: 'failed / s' },
      ],
      series: [
        {
          name: 'p99',
          type: 'line',
          data: run.timeline.map((b) => Math.max(0.1, b.p99Ms)),
          markLine: { symbol: 'none', data: marks, lineStyle: { color: '#c00', type: 'dashed' } },
        },
        { name: 'errors + dropped', type: 'bar', yAxisIndex: 1, data: run.timeline.map((b) => b.errors + b.dropped) },
      ],
    },
    760,
    300,
  );
}
