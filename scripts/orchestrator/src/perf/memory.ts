import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import { deployProcesses } from '../backends/process.js';
import { sampleProcess } from '../sys/procfs.js';
import { closedLoop } from './load.js';
import { type Server, startOurs } from './servers.js';
import type { PerfOptions, PerfResults } from './types.js';

function rssMB(pid: number | undefined): number {
  return Math.round((sampleProcess(pid)?.rssMB ?? 0) * 10) / 10;
}

/** 6: RSS idle, after N and after 2N requests, each service on its own. */
export async function measureMemory(
  o: PerfOptions,
  keep: <T extends Server>(s: T) => T,
): Promise<PerfResults['memory']> {
  o.log(`memory: RSS idle, after ${o.memoryRequests} and ${2 * o.memoryRequests} requests`);
  const out: PerfResults['memory'] = {};
  for (const service of ['monolith', 'prediction', 'gateway'] as const) {
    const dep =
      service === 'gateway'
        ? await deployProcesses('microservices', 1, {
            modelPath: DEFAULT_MODEL_PATH,
            runId: o.runId,
            serverCpus: o.pinning.serverCpus,
          })
        : undefined;
    const s = dep
      ? keep({
          name: 'gateway',
          url: dep.entryUrls[0]!,
          pid: dep.components.find((c) => c.service === 'gateway')!.pid,
          stop: () => dep.stop(),
        })
      : keep(await startOurs(service, service, o));
    await sleep(1_500);
    const idleMB = rssMB(s.pid);
    await closedLoop(s.url, o, { amount: o.memoryRequests });
    await sleep(1_000);
    const after1MB = rssMB(s.pid);
    await closedLoop(s.url, o, { amount: o.memoryRequests });
    await sleep(1_000);
    out[service] = { idleMB, after1MB, after2MB: rssMB(s.pid) };
    o.log(`  ${service}: idle ${idleMB} MB, ${after1MB} MB, ${out[service].after2MB} MB`);
    await s.stop();
  }
  return out;
}
