import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import { nginxBinary, startNginx } from '../backends/nginx.js';
import { deployProcesses } from '../backends/process.js';
import { sampleProcess } from '../sys/procfs.js';
import { type ClosedLoop, closedLoop, interleave, ratioSpread } from './load.js';
import { type Server, startFloor, startOurs } from './servers.js';
import { type PerfOptions, type PerfResults, spread } from './types.js';

export interface ThroughputSides {
  monolith: Server;
  bare: Server;
  gateway: Server;
  proxy: Server;
  /** Debian's nginx as the gateway over the same replica, where nginx is installed. */
  nginx: Server | undefined;
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
  const gwPid = gw.components.find((c) => c.service === 'gateway')?.pid;
  const gateway = keep({ name: 'gateway', url: gw.entryUrls[0]!, pid: gwPid, stop: () => gw.stop() });
  const predictionUrl = gw.components.find((c) => c.service === 'prediction')!.url;
  // The ceiling any proxy in front of that replica on the same core can reach.
  const proxy = keep(await startFloor('proxy', o, predictionUrl));
  // The same floor on undici's leaner dispatch API (the one our gateway's forwarder uses), and
  // our gateway through @fastify/http-proxy (FORWARDER=http-proxy): what each choice costs.
  const proxyDispatch = keep(await startFloor('proxy-dispatch', o, predictionUrl));
  const viaHttpProxy = keep(
    await startOurs('gateway', 'gateway-http-proxy', o, { PREDICTION_URLS: predictionUrl, FORWARDER: 'http-proxy' }),
  );
  // And a production proxy in the same place: what the hop costs through the leanest gateway.
  let nginx: Server | undefined;
  if (nginxBinary()) {
    const n = await startNginx('nginx', [predictionUrl], { runId: o.runId, serverCpus: o.pinning.serverCpus });
    nginx = keep({ name: 'nginx', url: n.url, pid: n.pid, stop: () => n.proc.stop() });
  } else o.log('  nginx not installed (apt-get install nginx-light): the nginx gateway is left out');
  const sides = [
    monolith,
    fastify,
    bare,
    noMetrics,
    gateway,
    proxy,
    proxyDispatch,
    viaHttpProxy,
    ...(nginx ? [nginx] : []),
  ];
  for (const s of sides) await closedLoop(s.url, o, { durationMs: 1_000 }); // warm: JIT, pools
  // Each side's own CPU while it served: the entry process only (the replica behind a proxy
  // is the same process for all three, and its share is the same per request).
  const cpuOf = (pid: number | undefined) => (pid ? (sampleProcess(pid)?.cpuSeconds ?? 0) : 0);
  const cpuPer1k = new Map<string, number[]>(sides.map((s) => [s.name, []]));
  const max = await interleave(o, sides, async (s) => {
    const before = cpuOf(s.pid);
    const r = await closedLoop(s.url, o);
    if (s.pid) cpuPer1k.get(s.name)!.push(((cpuOf(s.pid) - before) * 1e6) / Math.max(1, r.requests));
    return r;
  });
  const rps = (name: string) => max.get(name)!.map((r) => r.rps);
  res.cpuMsPer1k = {};
  for (const s of sides) {
    res.throughput[s.name] = spread(rps(s.name));
    const cpu = cpuPer1k.get(s.name)!;
    if (cpu.length) res.cpuMsPer1k[s.name] = spread(cpu);
  }
  const ratios: [string, string][] = [
    ['monolith', 'fastify'],
    ['monolith', 'bare'],
    ['monolith', 'monolith-no-metrics'],
    ['gateway', 'monolith'],
    ['gateway', 'proxy'],
    ['gateway', 'proxy-dispatch'],
    ['gateway-http-proxy', 'proxy'],
    ['proxy', 'monolith'],
    ...(nginx
      ? ([
          ['nginx', 'proxy'],
          ['gateway', 'nginx'],
        ] as [string, string][])
      : []),
  ];
  for (const [a, b] of ratios) res.ratios[`${a} / ${b}`] = ratioSpread(rps(a), rps(b));
  for (const s of [fastify, noMetrics, proxyDispatch, viaHttpProxy]) await s.stop();
  return { monolith, bare, gateway, proxy, nginx, predictionUrl, max };
}
