import type { CapacityResult, Interval, RunResult, Spread, SummaryRow } from '../results/index.js';
import { componentKind, gatewaysOf, implementationOf, sameConfig } from '../results/labels.js';
import { intervalsOf } from './intervals.js';
import { spread } from './spread.js';

export { spread };

/** Gateway's own time: its server-side time minus the prediction service's, per request. */
export function gatewayOverheadMs(r: RunResult): number | null {
  const g = r.hops.gateway;
  const p = r.hops.prediction;
  if (!g || !p || !g.requests || !p.requests) return null;
  return Math.round((g.meanMs - p.meanMs) * 1000) / 1000;
}

/**
 * Peak RSS per server component kind (monolith, gateway, prediction) of one run, folded into
 * `into` (max over what is already there); the driver and the "servers" sum are left out.
 */
export function peakRssByKind(run: RunResult, into: Record<string, number> = {}): Record<string, number> {
  for (const [name, res] of Object.entries(run.resources)) {
    if (name === 'servers' || name === 'driver') continue;
    const kind = componentKind(name);
    into[kind] = Math.max(into[kind] ?? 0, res.rssMaxMB);
  }
  return into;
}

/**
 * The capacity search's bracket: the highest rate that met the SLO and the lowest that
 * failed it. A search that ended on the load generator or the search range found no server
 * failure: no upper end.
 */
export function capacityBracket(c: CapacityResult): Interval {
  const probes = new Set(c.probes.map((p) => p.rateRps)).size;
  return {
    lo: c.rateRps,
    hi: c.limitedBy === 'slo' ? c.failedAtRps : null,
    level: null,
    method: 'search-bracket',
    units: probes,
  };
}

/** Median and spread over trials, per topology and replica count; valid trials only. */
export function summarize(runs: RunResult[], capacity: CapacityResult[]): SummaryRow[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (r.phase !== 'trial') continue;
    const key = `${r.topology}|${r.replicas}|${gatewaysOf(r)}|${implementationOf(r)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const [key, all] of groups) {
    const [topology, replicasText, gatewaysText, implementation] = key.split('|');
    const replicas = Number(replicasText);
    const gateways = Number(gatewaysText);
    const valid = all.filter((r) => r.valid);
    const rss: Record<string, number> = {};
    for (const r of valid) peakRssByKind(r, rss);
    const cap = capacity.find((c) => sameConfig(c, { topology: topology!, replicas, gateways, implementation }));
    const overheads = valid.map(gatewayOverheadMs).filter((x): x is number => x !== null);
    const ci = intervalsOf(valid, key);
    const withCi = (s: Spread, i: Interval | undefined): Spread => (i ? { ...s, ci: i } : s);
    rows.push({
      topology: topology!,
      ...(implementation !== 'mlbench' ? { implementation: implementation! } : {}),
      replicas,
      gateways,
      hopCount: all[0]!.hopCount,
      targetRps: all[0]!.targetRps,
      trials: all.length,
      validTrials: valid.length,
      p50Ms: withCi(spread(valid.map((r) => r.latencyMs.p50)), ci.p50Ms),
      p99Ms: withCi(spread(valid.map((r) => r.latencyMs.p99)), ci.p99Ms),
      p999Ms: withCi(spread(valid.map((r) => r.latencyMs.p999)), ci.p999Ms),
      achievedRps: withCi(spread(valid.map((r) => r.achievedRps)), ci.achievedRps),
      errorRate: spread(valid.map((r) => r.errors.rate)),
      failedRate: spread(valid.map((r) => r.failed.rate)),
      cpuSecondsPer1k: withCi(
        spread(valid.map((r) => r.resources.servers?.cpuSecondsPer1kRequests ?? 0)),
        ci.cpuSecondsPer1k,
      ),
      rssMaxMB: rss,
      capacityRps: cap?.rateRps ?? null,
      ...(cap ? { capacityInterval: capacityBracket(cap) } : {}),
      capacityIsLowerBound: cap !== undefined && cap.limitedBy !== 'slo',
      capacityLimitedBy: cap?.limitedBy ?? null,
      gatewayOverheadMs: overheads.length ? spread(overheads).median : null,
    });
  }
  // Monolith first: it is the baseline every other figure is compared with.
  return rows.sort(
    (a, b) =>
      a.replicas - b.replicas ||
      b.topology.localeCompare(a.topology) ||
      (a.gateways ?? 0) - (b.gateways ?? 0) ||
      // Ours first within a configuration, then the others by name.
      Number(implementationOf(a) !== 'mlbench') - Number(implementationOf(b) !== 'mlbench') ||
      implementationOf(a).localeCompare(implementationOf(b)),
  );
}
