import { DriverProcess } from '../driver/worker-process.js';
import { measureDriverLimit } from './driver-limit.js';
import { checkTargets } from './goals.js';
import { measureHop } from './hop.js';
import { measureInference } from './inference.js';
import { measureMemory } from './memory.js';
import type { Server } from './servers.js';
import { measureThroughput } from './throughput.js';
import type { PerfOptions, PerfResults } from './types.js';

/**
 * `make perf`: every comparison on the same cores with the same load generator, sides
 * interleaved round by round; each comparison is a module of its own, the targets are
 * named in targets.ts. Every server the suite starts is stopped whatever happens.
 */
export async function runPerf(o: PerfOptions): Promise<PerfResults> {
  const res: PerfResults = {
    runId: o.runId,
    startedAt: new Date().toISOString(),
    settings: {
      rounds: o.rounds,
      durationMs: o.durationMs,
      connections: o.connections,
      memoryRequests: o.memoryRequests,
      runId: o.runId,
      pinning: o.pinning.description,
    },
    throughput: {},
    ratios: {},
    gatewayHop: {} as PerfResults['gatewayHop'],
    driver: {} as PerfResults['driver'],
    inference: [],
    memory: {},
    targets: [],
  };
  const live: Server[] = [];
  const keep = <T extends Server>(s: T) => {
    live.push(s);
    return s;
  };
  const driver = new DriverProcess({ cpus: o.pinning.driverCpus, runId: o.runId });
  try {
    const sides = await measureThroughput(o, res, keep);
    res.gatewayHop = await measureHop(o, driver, res.throughput.gateway!.median, sides);
    await sides.proxy.stop();
    await sides.nginx?.stop();
    await sides.gateway.stop();
    res.driver = await measureDriverLimit(o, driver, sides.bare, sides.max.get('bare')!);
    await sides.bare.stop();
    await sides.monolith.stop();
    o.log('inference: per-row cost, single vs batch of 64, in-process');
    res.inference = await measureInference();
    res.memory = await measureMemory(o, keep);
  } finally {
    await Promise.allSettled([driver.close(), ...live.map((s) => s.stop())]);
  }
  res.targets = checkTargets(res);
  res.finishedAt = new Date().toISOString();
  return res;
}
