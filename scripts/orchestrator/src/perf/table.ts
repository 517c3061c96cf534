import type { PerfResults, Spread } from './types.js';

const s = (x: Spread | undefined, digits = 0) =>
  x ? `${x.median.toFixed(digits)} [${x.min.toFixed(digits)}–${x.max.toFixed(digits)}]` : '–';

const hopUs = (through: Spread | undefined, direct: Spread) =>
  through ? Math.round((through.median - direct.median) * 1000) : '–';

/**
 * How much of the microservices' hop is the architecture (a hop through the leanest proxy
 * measured, nginx) and how much is our Node gateway, at p50 and in throughput.
 */
export function penaltySplit(r: PerfResults): string | undefined {
  const h = r.gatewayHop;
  const ours = r.throughput.gateway?.median;
  const lean = r.throughput.nginx?.median;
  if (!h.nginxP50Ms || !h.gatewayP50Ms || !ours || !lean) return undefined;
  const oursUs = (h.gatewayP50Ms.median - h.directP50Ms.median) * 1000;
  const leanUs = (h.nginxP50Ms.median - h.directP50Ms.median) * 1000;
  const share = oursUs > 0 ? Math.round((100 * Math.max(0, leanUs)) / oursUs) : undefined;
  return (
    `Of the ${Math.round(oursUs)} µs our gateway adds at p50 (${h.rateRps} req/s), ${Math.round(leanUs)} µs is any hop ` +
    `(nginx adds that much${share !== undefined ? `: ${share} %` : ''}) and ${Math.round(oursUs - leanUs)} µs is the Node gateway. ` +
    `At its maximum our gateway passes ${Math.round(ours)} req/s, nginx ${Math.round(lean)} req/s over the same replica on the same core ` +
    `(${(ours / lean).toFixed(2)}×): the rest of the gap to the monolith is the architecture.`
  );
}

/** The suite as Markdown: measurements (median [min–max] over rounds), then every target met or not. */
export function perfTable(r: PerfResults): string {
  const lines = [
    `### make perf — ${r.runId} (${r.settings.rounds} interleaved rounds of ${r.settings.durationMs / 1000} s, ${r.settings.connections} connections; ${r.settings.pinning})`,
    '',
    '| measurement | median [min–max] |',
    '|---|---|',
    ...Object.entries(r.throughput).map(([k, v]) => `| max throughput ${k} (req/s, autocannon) | ${s(v)} |`),
    ...Object.entries(r.ratios).map(([k, v]) => `| ratio ${k} | ${s(v, 3)} |`),
    ...Object.entries(r.cpuMsPer1k ?? {}).map(
      ([k, v]) => `| CPU per 1k requests of ${k} itself at its maximum (ms) | ${s(v, 1)} |`,
    ),
  ];
  const h = r.gatewayHop;
  if (h.gatewayP50Ms)
    lines.push(
      `| p50 at ${h.rateRps} req/s: direct / through gateway / through minimal proxy (ms) | ${s(h.directP50Ms, 3)} / ${s(h.gatewayP50Ms, 3)} / ${s(h.proxyP50Ms, 3)} |`,
      `| p99 at ${h.rateRps} req/s: direct / through gateway / through minimal proxy (ms) | ${s(h.directP99Ms, 3)} / ${s(h.gatewayP99Ms, 3)} / ${s(h.proxyP99Ms, 3)} |`,
    );
  if (h.nginxP50Ms && h.directP50Ms)
    lines.push(
      `| through nginx at ${h.rateRps} req/s: p50 / p99 (ms) | ${s(h.nginxP50Ms, 3)} / ${s(h.nginxP99Ms, 3)} |`,
      `| hop added at p50: our gateway / minimal proxy / nginx (µs) | ${hopUs(h.gatewayP50Ms, h.directP50Ms)} / ${hopUs(h.proxyP50Ms, h.directP50Ms)} / ${hopUs(h.nginxP50Ms, h.directP50Ms)} |`,
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
  if (d.k6)
    lines.push(
      `| ${d.k6.version}: highest rate with no dropped iterations, same CPUs (req/s) | ${d.k6.sustainedRps || 'none in the range'} (CPU ${d.k6.cpuMsPer1k} ms per 1k while loading) |`,
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
  const split = penaltySplit(r);
  if (split) lines.push('', split);
  lines.push('', '| target | measured | wanted | met |', '|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.measured} | ${t.target} | ${t.met ? 'yes' : '**no**'} |`);
  return `${lines.join('\n')}\n`;
}
