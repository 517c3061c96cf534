import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import { deployProcesses } from '../backends/process.js';
import { type ClosedLoop, closedLoop, interleave, ratioSpread } from './load.js';
import { type Server, startFloor, startOurs } from './servers.js';
import { type PerfOptions, type PerfResults, spread } from './types.js';

export interface ThroughputSides {
  monolith: Server;
  bare: Server;
  gateway: Server;
  proxy: Server;
  /** The prediction replica behind the gateway and the proxy. */
  predictionUrl: string;
  /** Every round's closed-loop result, by side. */
  max: Map<string, ClosedLoop[]>;
}

/**
 * 1 + 4: closed-loop maximum of the monolith against the HTTP floors (bare node:http, a
 * minimal Fastify route), against itself without request metrics, and of the gateway
 * against the minimal proxy over the same replica. Servers the later comparisons reuse stay
 * up (and are registered with `keep`, which stops them whatever happens).
 */
export async function measureThroughput(
  o: PerfOptions,
  res: PerfResults,
  keep: <T extends Server>(s: T) => T,
): Promise<ThroughputSides> {
  o.log('throughput: monolith vs minimal Fastify vs bare node:http vs monolith without request metrics');
  const monolith = keep(await startOurs('monolith', 'monolith', o));
  const bare = keep(await startFloor('bare', o));
  const fastify = keep(await startFloor('fastify', o));
  const noMetrics = keep(await startOurs('monolith', 'monolith-no-metrics', o, { REQUEST_METRICS: 'off' }));
  const gw = await deployProcesses('microservices', 1, {
    modelPath: DEFAULT_MODEL_PATH,
    runId: o.runId,
    serverCpus: o.pinning.serverCpus,
  });
  const gateway = keep({ name: 'gateway', url: gw.entryUrls[0]!, pid: undefined, stop: () => gw.stop() });
  const predictionUrl = gw.components.find((c) => c.service === 'prediction')!.url;
  // The ceiling any proxy in front of that replica on the same core can reach.
  const proxy = keep(await startFloor('proxy', o, predictionUrl));
  const sides = [monolith, fastify, bare, noMetrics, gateway, proxy];
  for (const s of sides) await closedLoop(s.url, o, { durationMs: 1_000 }); // warm: JIT, pools
  const max = await interleave(o, sides, (s) => closedLoop(s.url, o));
  const rps = (name: string) => max.get(name)!.map((r) => r.rps);
  for (const s of sides) res.throughput[s.name] = spread(rps(s.name));
  const ratios: [string, string][] = [
    ['monolith', 'fastify'],
    ['monolith', 'bare'],
    ['monolith', 'monolith-no-metrics'],
    ['gateway', 'monolith'],
    ['gateway', 'proxy'],
    ['proxy', 'monolith'],
  ];
  for (const [a, b] of ratios) res.ratios[`${a} / ${b}`] = ratioSpread(rps(a), rps(b));
  for (const s of [fastify, noMetrics]) await s.stop();
  return { monolith, bare, gateway, proxy, predictionUrl, max };
}
