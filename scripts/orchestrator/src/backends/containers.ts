import type Docker from 'dockerode';
import { request } from 'undici';
import { parsePrometheusText } from '../stats/exposition.js';
import { done, notYet, pollUntil } from '../sys/poll.js';
import type { ProcSample } from '../sys/procfs.js';
import { imageOf } from './compose.js';
import { entrySpreading } from './process.js';
import { type Component, type Deployment, metricsUrlOf, type ServiceName, type Topology } from './types.js';

/**
 * What the two container backends (Compose over the Docker API, and Swarm) share: their
 * deployments' shape, engine checks, naming, placement of load, pinning, resources from
 * the engine's stats, and waiting for the gateway to see every replica.
 */

/** Projects and stacks the bench starts are named for the mlbench process that owns them (see reapOrphans). */
export const BENCH_PROJECT_PREFIX = 'mlbench-bench-';

/** The images' METRICS_PORT: /metrics is off the public port, on the container's own address. */
export const METRICS_PORT = 9464;

export interface DockerComponent extends Component {
  containerId: string;
  /** The engine that runs it, when not the deployment's (a task on another swarm node). */
  engine?: Docker;
  /** No engine to ask (a swarm node the nodes file does not name): CPU and memory not sampled. */
  unsampled?: boolean;
}

export interface DockerDeployment extends Deployment {
  project: string;
  components: DockerComponent[];
  /** Add or remove replicas of the scaled tier through the Docker API and wait until they serve. */
  scale(replicas: number): Promise<void>;
}

export async function checkEngineAndImages(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch {
    throw new Error(
      'no Docker engine answers (/var/run/docker.sock); start one with scripts/docker/ensure-engine.sh (make engine)',
    );
  }
  for (const s of ['monolith', 'prediction', 'gateway']) {
    const tag = imageOf(s);
    await docker
      .getImage(tag)
      .inspect()
      .catch(() => {
        throw new Error(`image ${tag} is missing: run 'make images' (OFFLINE=1 on a machine without a registry)`);
      });
  }
}

export const replicaTier = (t: Topology): ServiceName => (t === 'monolith' ? 'monolith' : 'prediction');

let deployments = 0;
/** Owner pid first, so a later `mlbench down` can tell orphans from projects (and stacks) still in use. */
export function projectName(topology: Topology): string {
  return `${BENCH_PROJECT_PREFIX}${process.pid}-${++deployments}-${topology}`;
}
export const PROJECT_NAME = /^mlbench-bench-(\d+)-\d+-(monolith|microservices)$/;

/** How load reaches a container deployment's entry tier, for the report's fairness statement. */
export function containerSpreading(topology: Topology, replicas: number, network: string, gateways = 1): string {
  return entrySpreading(topology, replicas, gateways).replace(
    /^(client-side balancer in the load generator|one gateway)/,
    (m) => `${m} (${network}, reached at their own addresses)`,
  );
}

/**
 * CPU and memory of a deployment's containers from the engine's stats; started, it also
 * samples every pollMs so peak memory between scrapes is kept (the engine reports only the
 * current figure).
 */
export function containerResources(docker: Docker, components: DockerComponent[], pollMs = 2_000) {
  const peaks = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  const sample = () => sampleContainers(docker, components, peaks);
  return {
    sample,
    start() {
      timer = setInterval(() => void sample().catch(() => undefined), pollMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

export interface Described {
  component: DockerComponent;
  /** What the container's service puts in x-served-by (REPLICA_ID defaults to hostname:port). */
  replicaId: string;
}

/** Make what the engine reports the deployment's components, and what follows from them. */
export function adopt(dep: DockerDeployment, found: Described[]): void {
  dep.gateways = found.filter((f) => f.component.service === 'gateway').length;
  dep.components.splice(0, dep.components.length, ...found.map((f) => f.component));
  const alias = dep.servedByAlias ?? {};
  for (const k of Object.keys(alias)) delete alias[k];
  for (const f of found) alias[f.replicaId] = f.component.name;
  dep.entryUrls = dep.components.filter((c) => c.service !== 'prediction').map((c) => c.url);
  dep.replicas = dep.components.filter((c) => c.service === replicaTier(dep.topology)).length;
}

/** The process backend's taskset rule for containers: every service on the server cpuset. */
export async function pinContainers(docker: Docker, ids: string[], cpus: string) {
  await Promise.all(ids.map((id) => docker.getContainer(id).update({ CpusetCpus: cpus })));
}

/** A container's last log line (its reason for dying, usually), printable. */
export async function lastLogLine(docker: Docker, id: string): Promise<string> {
  return docker
    .getContainer(id)
    .logs({ stdout: true, stderr: true, tail: 5 })
    .then(
      (b) =>
        b
          .toString('utf8')
          .replace(/[^\x20-\x7e\n]/g, '')
          .trim()
          .split('\n')
          .pop() ?? '',
    )
    .catch(() => '');
}

/** Gateways re-resolve DNS every second; scaling counts only once every one can send to every replica. */
export async function waitGatewaySees(components: Component[], owner: string, replicas: number, timeoutMs: number) {
  const gateways = components.filter((c) => c.service === 'gateway');
  if (gateways.length === 0) throw new Error(`${owner}: no gateway container`);
  for (const gw of gateways) await waitOneGatewaySees(gw, owner, replicas, timeoutMs);
}

async function waitOneGatewaySees(gw: Component, owner: string, replicas: number, timeoutMs: number) {
  let seen = '';
  await pollUntil(
    async () => {
      const res = await request(`${metricsUrlOf(gw)}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
      const samples = parsePrometheusText(await res.body.text());
      const count = (state: string) =>
        samples.find((x) => x.name === 'gateway_upstreams' && x.labels.state === state)?.value;
      seen = `${count('known')}/${count('usable')}`;
      return count('known') === replicas && count('usable') === replicas ? done(undefined) : notYet;
    },
    {
      timeoutMs,
      intervalMs: 250,
      onTimeout: () => new Error(`${owner}: ${gw.name} sees ${seen} (known/usable) replicas, not ${replicas}`),
    },
  );
}

interface EngineStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

/** CPU seconds and memory of each container from the engine's stats (cgroup v1 or v2). */
async function sampleContainers(
  docker: Docker,
  components: DockerComponent[],
  peaks: Map<string, number>,
): Promise<Map<string, ProcSample>> {
  const out = new Map<string, ProcSample>();
  await Promise.all(
    components.map(async (c) => {
      if (c.unsampled) return;
      try {
        const s = (await (c.engine ?? docker)
          .getContainer(c.containerId)
          .stats({ stream: false, 'one-shot': true } as { stream: false })) as EngineStats;
        // A container that is not running answers with zeros: no sample, not a counter reset
        // (taken as one, it made a 4 s trial's CPU negative on the multi-node swarm).
        const cpuNs = s.cpu_stats?.cpu_usage?.total_usage;
        if (!cpuNs) return;
        const mem = s.memory_stats ?? {};
        // What `docker stats` shows: usage less page cache the kernel may drop at will.
        const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
        const rssMB = Math.max(0, (mem.usage ?? 0) - inactive) / 2 ** 20;
        const peak = Math.max(peaks.get(c.containerId) ?? 0, rssMB);
        peaks.set(c.containerId, peak);
        out.set(c.name, {
          id: c.containerId,
          cpuSeconds: cpuNs / 1e9,
          rssMB,
          rssPeakMB: peak,
        });
      } catch {
        // Removed while sampling (scaled down, its node lost): left out, as a dead process is.
      }
    }),
  );
  return out;
}
