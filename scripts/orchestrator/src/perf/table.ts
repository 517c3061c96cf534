import type { PerfResults, Spread } from './types.js';

const s = (x: Spread | undefined, digits = 0) =>
  x ? `${x.median.toFixed(digits)} [${x.min.toFixed(digits)}–${x.max.toFixed(digits)}]` : '–';

/** The suite as Markdown: measurements (median [min–max] over rounds), then every target met or not. */
export function perfTable(r: PerfResults): string {
  const lines = [
    `### make perf — ${r.runId} (${r.settings.rounds} interleaved rounds of ${r.settings.durationMs / 1000} s, ${r.settings.connections} connections; ${r.settings.pinning})`,
    '',
    '| measurement | median [min–max] |',
    '|---|---|',
    ...Object.entries(r.throughput).map(([k, v]) => `| max throughput ${k} (req/s, autocannon) | ${s(v)} |`),
    ...Object.entries(r.ratios).map(([k, v]) => `| ratio ${k} | ${s(v, 3)} |`),
  ];
  const h = r.gatewayHop;
  if (h.gatewayP50Ms)
    lines.push(
      `| p50 at ${h.rateRps} req/s: direct / through gateway / through minimal proxy (ms) | ${s(h.directP50Ms, 3)} / ${s(h.gatewayP50Ms, 3)} / ${s(h.proxyP50Ms, 3)} |`,
      `| p99 at ${h.rateRps} req/s: direct / through gateway / through minimal proxy (ms) | ${s(h.directP99Ms, 3)} / ${s(h.gatewayP99Ms, 3)} / ${s(h.proxyP99Ms, 3)} |`,
    );
  const d = r.driver;
  if (d.autocannonMaxRps)
    lines.push(
      `| built-in driver: highest sustained open-loop rate (req/s) | ${d.builtinSustainedRps} (lag p99 ${d.scheduleLagP99Ms} ms) |`,
      `| CPU per 1k requests: built-in driver / autocannon (ms) | ${d.builtinCpuMsPer1k} / ${d.autocannonCpuMsPer1k.toFixed(3)} |`,
    );
  for (const w of d.byWorkers ?? [])
    lines.push(
      `| built-in driver with ${w.workers} worker${w.workers > 1 ? 's' : ''}: highest sustained open-loop rate (req/s) | ${w.sustainedRps > 0 ? `${w.sustainedRps} (lag p99 ${w.lagP99Ms} ms, CPU ${w.cpuMsPer1k} ms per 1k)` : 'none within the 1 ms lag limit'} |`,
    );
  if (d.builtinClosedRps)
    lines.push(
      `| built-in driver closed loop, same connections (req/s) | ${s(d.builtinClosedRps)} (CPU ${d.builtinClosedCpuMsPer1k} ms per 1k) |`,
      `| ratio built-in closed loop / autocannon (paired rounds) | ${s(d.closedOverAutocannon, 3)} |`,
      `| ratio built-in open-loop sustained / its own closed loop | ${(d.builtinSustainedRps / d.builtinClosedRps.median).toFixed(3)} |`,
    );
  for (const i of r.inference)
    lines.push(
      `| F=${i.features}: µs per row, model single / batch-64; route single / batch-64 | ${i.singleUsPerRow} / ${i.batchUsPerRow}; ${i.routeSingleUsPerRow} / ${i.routeBatchUsPerRow} |`,
    );
  for (const [k, m] of Object.entries(r.memory))
    lines.push(`| ${k} RSS idle / after N / after 2N (MB) | ${m.idleMB} / ${m.after1MB} / ${m.after2MB} |`);
  lines.push('', '| target | measured | wanted | met |', '|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.measured} | ${t.target} | ${t.met ? 'yes' : '**no**'} |`);
  return `${lines.join('\n')}\n`;
}
