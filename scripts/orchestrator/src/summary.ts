import { gatewaysOf } from './labels.js';
import type { CapacityResult, RunResult, SummaryRow } from './results.js';
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
    const kind = name.replace(/-\d+$/, '');
    into[kind] = Math.max(into[kind] ?? 0, res.rssMaxMB);
  }
  return into;
}

/** Median and spread over trials, per topology and replica count; valid trials only. */
export function summarize(runs: RunResult[], capacity: CapacityResult[]): SummaryRow[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    if (r.phase !== 'trial') continue;
    const key = `${r.topology}|${r.replicas}|${gatewaysOf(r)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: SummaryRow[] = [];
  for (const [key, all] of groups) {
    const [topology, replicasText, gatewaysText] = key.split('|');
    const replicas = Number(replicasText);
    const gateways = Number(gatewaysText);
    const valid = all.filter((r) => r.valid);
    const rss: Record<string, number> = {};
    for (const r of valid) peakRssByKind(r, rss);
    const cap = capacity.find((c) => c.topology === topology && c.replicas === replicas && gatewaysOf(c) === gateways);
    const overheads = valid.map(gatewayOverheadMs).filter((x): x is number => x !== null);
    rows.push({
      topology: topology!,
      replicas,
      gateways,
      hopCount: all[0]!.hopCount,
      targetRps: all[0]!.targetRps,
      trials: all.length,
      validTrials: valid.length,
      p50Ms: spread(valid.map((r) => r.latencyMs.p50)),
      p99Ms: spread(valid.map((r) => r.latencyMs.p99)),
      p999Ms: spread(valid.map((r) => r.latencyMs.p999)),
      achievedRps: spread(valid.map((r) => r.achievedRps)),
      errorRate: spread(valid.map((r) => r.errors.rate)),
      failedRate: spread(valid.map((r) => r.failed.rate)),
      cpuSecondsPer1k: spread(valid.map((r) => r.resources.servers?.cpuSecondsPer1kRequests ?? 0)),
      rssMaxMB: rss,
      capacityRps: cap?.rateRps ?? null,
      capacityIsLowerBound: cap !== undefined && cap.limitedBy !== 'slo',
      capacityLimitedBy: cap?.limitedBy ?? null,
      gatewayOverheadMs: overheads.length ? spread(overheads).median : null,
    });
  }
  // Monolith first: it is the baseline every other figure is compared with.
  return rows.sort(
    (a, b) => a.replicas - b.replicas || b.topology.localeCompare(a.topology) || (a.gateways ?? 0) - (b.gateways ?? 0),
  );
}
