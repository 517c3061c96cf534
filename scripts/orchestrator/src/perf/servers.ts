import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import { SERVICE_NODE_FLAGS } from '@mlbench/runtime';
import { startService } from '../backends/process.js';
import type { ServiceName } from '../backends/types.js';
import { makeBodies } from '../driver/payload.js';
import { ManagedProcess } from '../sys/child.js';
import { freePort } from '../sys/ports.js';
import { waitReady } from '../sys/ready.js';
import { which } from '../sys/which.js';
import type { PerfOptions } from './types.js';

export const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

export interface Server {
  name: string;
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

export const BODY = makeBodies({ features: 8, batchSize: 1, seed: 42 }, 1).bodies[0]!.toString('utf8');

export async function startFloor(
  kind: 'bare' | 'fastify' | 'proxy' | 'proxy-dispatch',
  o: PerfOptions,
  upstream?: string,
): Promise<Server> {
  const cpus = o.pinning.serverCpus;
  const port = await freePort();
  const proc = new ManagedProcess(
    {
      name: `floor-${kind}`,
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS, here('./floor-servers.js'), kind],
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        MLBENCH_PARENT_PID: String(process.pid),
        MLBENCH_RUN_ID: o.runId,
        ...(upstream ? { UPSTREAM: upstream } : {}),
      },
      cpus,
    },
    cpus ? which('taskset') : undefined,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, url, 15_000);
  return { name: kind, url, pid: proc.pid, stop: () => proc.stop() };
}

export async function startOurs(service: ServiceName, name: string, o: PerfOptions, env: Record<string, string> = {}) {
  const s = await startService(service, name, {
    modelPath: DEFAULT_MODEL_PATH,
    runId: o.runId,
    serverCpus: o.pinning.serverCpus,
    extraEnv: env,
  });
  return { name, url: s.url, pid: s.pid, stop: () => s.proc.stop() } satisfies Server;
}
