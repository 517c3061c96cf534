import type { DriverProcess } from '../driver/worker-process.js';
import { interleave, openLoopSpec, summary } from './load.js';
import type { Server } from './servers.js';
import { type PerfOptions, type PerfResults, spread } from './types.js';

/**
 * 2: the hop, at half the gateway's capacity, open loop: the prediction replica directly,
 * through the gateway, through the minimal proxy and through nginx, in interleaved rounds.
 */
export async function measureHop(
  o: PerfOptions,
  driver: DriverProcess,
  gatewayMaxRps: number,
  sides: { predictionUrl: string; gateway: Server; proxy: Server; nginx: Server | undefined },
): Promise<PerfResults['gatewayHop']> {
  const half = Math.round(gatewayMaxRps / 2);
  o.log(`gateway hop: ${half} req/s (half the gateway's closed-loop maximum), direct vs gateway vs minimal proxy`);
  const direct: Server = { name: 'direct', url: sides.predictionUrl, pid: undefined, stop: async () => {} };
  await driver.run(openLoopSpec(sides.gateway.url, half, { ...o, durationMs: 1_000 }));
  const through = [sides.gateway, sides.proxy, ...(sides.nginx ? [sides.nginx] : [])];
  const hop = await interleave(o, [direct, ...through], async (s) =>
    summary(await driver.run(openLoopSpec(s.url, half, o))),
  );
  const pick = (name: string, k: 'p50' | 'p99') => spread(hop.get(name)!.map((x) => x[k]));
  return {
    rateRps: half,
    directP50Ms: pick('direct', 'p50'),
    gatewayP50Ms: pick('gateway', 'p50'),
    directP99Ms: pick('direct', 'p99'),
    gatewayP99Ms: pick('gateway', 'p99'),
    proxyP50Ms: pick('proxy', 'p50'),
    proxyP99Ms: pick('proxy', 'p99'),
    ...(sides.nginx ? { nginxP50Ms: pick('nginx', 'p50'), nginxP99Ms: pick('nginx', 'p99') } : {}),
  };
}
