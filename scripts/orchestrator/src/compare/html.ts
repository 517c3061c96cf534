import type { Block } from '../report/block.js';
import { renderSvg, spectrumSeries, spectrumSvg } from '../report/charts.js';
import { toHtml } from '../report/render.js';
import type { ResultsFile, RunResult, SummaryRow } from '../results/index.js';
import { configLabel, sameConfig } from '../results/labels.js';
import type { Comparison } from './compare.js';
import { comparisonText } from './text.js';

const trialsLike = (runs: ResultsFile[], row: SummaryRow) =>
  runs
    .flatMap((res) => res.runs)
    .filter(
      (r: RunResult) =>
        r.phase === 'trial' &&
        r.valid &&
        sameConfig(r, row) &&
        r.targetRps === row.targetRps &&
        r.latencyHistogram !== '',
    );

/** compare.html: the table, then A's and B's spectra overlaid per configuration, then capacity bars. */
export function comparisonHtml(c: Comparison, a: ResultsFile[], b: ResultsFile[]): string {
  const blocks: Block[] = [{ h: `mlbench compare — A ${c.a.name} vs B ${c.b.name}`, level: 2 }];
  const text = comparisonText(c).split('\n');
  blocks.push({ p: text[0]! });
  if (c.forced || c.differences.notes.length)
    blocks.push({
      list: [
        ...(c.forced ? [`Forced: ${c.differences.blocking.join('; ')}`] : []),
        ...c.differences.notes.map((n) => `Differs: ${n}`),
      ],
    });
  blocks.push({
    table: {
      head: [
        'configuration',
        'figure',
        'A',
        'B',
        'change %',
        `${Math.round(c.level * 100)} % CI of change`,
        'verdict',
        'why',
      ],
      rows: c.rows.map((r) => [
        `${r.config} @ ${r.targetRps} req/s`,
        `${r.label} ${r.unit}`,
        r.a,
        r.b,
        r.changePct ?? '–',
        r.changeCi ? `${r.changeCi.lo} … ${r.changeCi.hi}` : '–',
        r.verdict,
        r.why,
      ]),
    },
  });
  blocks.push({
    list: [...new Set(c.rows.filter((r) => r.test !== 'none').map((r) => `${r.label}: ${r.test}`)), ...c.caveats],
  });
  blocks.push({ h: 'Latency spectra, A solid and B dashed', level: 3 });
  const keyOf = (r: SummaryRow) => `${configLabel(r)}|${r.targetRps}`;
  const inB = new Map(b.flatMap((x) => x.summary).map((r) => [keyOf(r), r]));
  const seen = new Set<string>();
  for (const ra of a.flatMap((x) => x.summary)) {
    if (seen.has(keyOf(ra))) continue;
    seen.add(keyOf(ra));
    const rb = inB.get(keyOf(ra));
    const ta = trialsLike(a, ra);
    const tb = rb ? trialsLike(b, rb) : [];
    if (!rb || ta.length === 0 || tb.length === 0) continue;
    const name = `${configLabel(ra)} @ ${ra.targetRps}`;
    blocks.push({
      chart: spectrumSvg(
        [spectrumSeries(`A ${name}`, ta), spectrumSeries(`B ${name}`, tb, true)],
        `${name}: valid trials merged as histograms`,
      ),
      caption: `Spectrum ${name}`,
    });
  }
  const caps = c.rows.filter((r) => r.metric === 'capacity');
  if (caps.length)
    blocks.push(
      { h: 'Capacity at SLO', level: 3 },
      {
        chart: renderSvg({
          title: { text: 'Capacity at SLO, A vs B', left: 'center', subtext: '“≥” bounds are drawn at their floor' },
          legend: { bottom: 0 },
          grid: { left: 70, right: 30, top: 60, bottom: 60 },
          xAxis: { type: 'category', data: caps.map((r) => r.config) },
          yAxis: { type: 'value', name: 'req/s' },
          series: [
            { name: `A ${c.a.name}`, type: 'bar', label: { show: true, position: 'top' }, data: caps.map((r) => r.a) },
            { name: `B ${c.b.name}`, type: 'bar', label: { show: true, position: 'top' }, data: caps.map((r) => r.b) },
          ],
        }),
        caption: 'Capacity bars',
      },
    );
  return toHtml(blocks, `mlbench compare ${c.a.name} vs ${c.b.name}`);
}
