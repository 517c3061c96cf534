import Docker from 'dockerode';
import { request } from 'undici';
import type { ProcSample } from '../measure/procfs.js';
import { parsePrometheusText } from '../measure/prometheus.js';
import { type ComposeProject, compose, composeCommand, imageOf } from './compose.js';
import { entrySpreading } from './process.js';
import type { Component, Deployment, ServiceName, Topology } from './types.js';

/** Every container of a project carries these (Compose's own labels; `docker compose ps` reads them). */
export const PROJECT = 'com.docker.compose.project';
const SERVICE = 'com.docker.compose.service';
const NUMBER = 'com.docker.compose.container-number';
/** Projects the bench starts are named for the mlbench process that owns them (see reapOrphans). */
export const BENCH_PROJECT_PREFIX = 'mlbench-bench-';
const CONTAINER_PORT = 8080;

export interface DockerBackendOptions {
  /** cpuset for every service container, e.g. "1" (the process backend's taskset rule). */
  serverCpus?: string | undefined;
  startTimeoutMs?: number;
  docker?: Docker;
  /** How often engine stats are read to track each container's peak memory. */
  memoryPollMs?: number;
}

export interface DockerComponent extends Component {
  containerId: string;
}

export interface DockerDeployment extends Deployment {
  project: string;
  components: DockerComponent[];
  /** Add or remove replicas of the scaled tier through the Docker API and wait until they serve. */
  scale(replicas: number): Promise<void>;
}

/** A one-line reason when the engine or the images are missing, before anything is started. */
export async function checkDockerReady(docker = new Docker()): Promise<void> {
  await checkEngineAndImages(docker);
  if (!(await composeCommand()))
    throw new Error("--backend docker needs 'docker compose' or 'docker-compose' (scripts/docker/ensure-engine.sh)");
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

function composeProject(topology: Topology): ComposeProject {
  return {
    name: projectName(topology),
    files: [`${topology}.yaml`],
    env: {
      // Load goes straight to container addresses (no docker-proxy hop), so nothing needs a fixed port.
      MONOLITH_PUBLISH: '127.0.0.1:',
      GATEWAY_PUBLISH: '127.0.0.1:',
    },
  };
}

/**
 * Deploy a topology through Compose (one replica), then scale the replica tier through
 * the Docker API. Everything is removed again if any part fails to come up.
 */
export async function deployDocker(
  topology: Topology,
  replicas: number,
  opts: DockerBackendOptions,
): Promise<DockerDeployment> {
  const docker = opts.docker ?? new Docker();
  const project = composeProject(topology);
  const tier = replicaTier(topology);
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const components: DockerComponent[] = [];
  const resources = containerResources(docker, components, opts.memoryPollMs);
  const stop = async () => {
    resources.stop();
    await removeProject(docker, project);
  };
  try {
    await compose(project, ['up', '-d', '--no-build', '--remove-orphans', '--scale', `${tier}=1`]);
    const servedByAlias: Record<string, string> = {};
    const refresh = async () => adopt(dep, await describeProject(docker, project.name));
    const dep: DockerDeployment = {
      topology,
      backend: 'docker',
      replicas: 1,
      project: project.name,
      entryUrls: [],
      components,
      servedByAlias,
      hops: topology === 'monolith' ? 1 : 2,
      entrySpreading: containerSpreading(topology, replicas, 'containers on a Docker bridge network'),
      stop,
      scale: async (n: number) => {
        await scaleTier(docker, project.name, tier, n, timeoutMs, opts.serverCpus);
        await refresh();
        if (topology === 'microservices') await waitGatewaySees(dep.components, project.name, n, timeoutMs);
      },
      sampleResources: resources.sample,
    };
    await waitHealthy(docker, project.name, timeoutMs);
    if (opts.serverCpus) await pinAll(docker, project.name, opts.serverCpus);
    await refresh();
    await dep.scale(replicas);
    resources.start();
    return dep;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** How load reaches a container deployment's entry tier, for the report's fairness statement. */
export function containerSpreading(topology: Topology, replicas: number, network: string): string {
  return entrySpreading(topology, replicas).replace(
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
  dep.components.splice(0, dep.components.length, ...found.map((f) => f.component));
  const alias = dep.servedByAlias ?? {};
  for (const k of Object.keys(alias)) delete alias[k];
  for (const f of found) alias[f.replicaId] = f.component.name;
  dep.entryUrls = dep.components.filter((c) => c.service !== 'prediction').map((c) => c.url);
  dep.replicas = dep.components.filter((c) => c.service === replicaTier(dep.topology)).length;
}

export async function projectContainers(docker: Docker, project: string, all = false) {
  return docker.listContainers({ all, filters: { label: [`${PROJECT}=${project}`] } });
}

async function describeProject(docker: Docker, project: string): Promise<Described[]> {
  const list = await projectContainers(docker, project);
  const out: Described[] = [];
  for (const c of list) {
    const info = await docker.getContainer(c.Id).inspect();
    const service = info.Config.Labels[SERVICE] as ServiceName;
    const number = Number(info.Config.Labels[NUMBER] ?? 1);
    const ip = Object.values(info.NetworkSettings.Networks).find((n) => n.IPAddress)?.IPAddress;
    if (!ip) throw new Error(`container ${info.Name} has no network address`);
    out.push({
      component: { name: `${service}-${number}`, service, url: `http://${ip}:${CONTAINER_PORT}`, containerId: c.Id },
      replicaId: `${info.Config.Hostname}:${CONTAINER_PORT}`,
    });
  }
  const order = ['monolith', 'prediction', 'gateway'];
  return out.sort(
    (a, b) =>
      order.indexOf(a.component.service) - order.indexOf(b.component.service) ||
      a.component.name.localeCompare(b.component.name, 'en', { numeric: true }),
  );
}

async function pinAll(docker: Docker, project: string, cpus: string) {
  await pinContainers(
    docker,
    (await projectContainers(docker, project)).map((c) => c.Id),
    cpus,
  );
}

/** The process backend's taskset rule for containers: every service on the server cpuset. */
export async function pinContainers(docker: Docker, ids: string[], cpus: string) {
  await Promise.all(ids.map((id) => docker.getContainer(id).update({ CpusetCpus: cpus })));
}

/**
 * Scale a Compose service through the Docker API: new replicas are copies of replica 1
 * (same image, limits, healthcheck, labels, DNS alias), numbered as Compose numbers them;
 * surplus replicas are stopped gracefully and removed, highest number first.
 */
async function scaleTier(
  docker: Docker,
  project: string,
  service: string,
  replicas: number,
  timeoutMs: number,
  cpus: string | undefined,
) {
  const list = (await projectContainers(docker, project, true))
    .filter((c) => c.Labels[SERVICE] === service)
    .sort((a, b) => Number(a.Labels[NUMBER]) - Number(b.Labels[NUMBER]));
  if (list.length === 0) throw new Error(`no ${service} container in ${project} to scale from`);
  if (list.length > replicas) {
    const surplus = list.slice(replicas);
    await Promise.all(
      surplus.map(async (c) => {
        const ct = docker.getContainer(c.Id);
        await ct.stop({ t: 15 }).catch(() => undefined);
        await ct.remove({ force: true, v: true });
      }),
    );
    return;
  }
  const template = await docker.getContainer(list[0]!.Id).inspect();
  const numbers = new Set(list.map((c) => Number(c.Labels[NUMBER])));
  const created: string[] = [];
  for (let n = 1; created.length + list.length < replicas; n++) {
    if (numbers.has(n)) continue;
    const [network, endpoint] = Object.entries(template.NetworkSettings.Networks)[0]!;
    const name = template.Name.replace(/^\//, '').replace(/([_-])\d+$/, `$1${n}`);
    const ct = await docker.createContainer({
      name,
      Image: template.Config.Image,
      Env: template.Config.Env,
      Cmd: template.Config.Cmd,
      Entrypoint: template.Config.Entrypoint,
      User: template.Config.User,
      WorkingDir: template.Config.WorkingDir,
      ExposedPorts: template.Config.ExposedPorts,
      Healthcheck: template.Config.Healthcheck,
      Labels: { ...template.Config.Labels, [NUMBER]: String(n) },
      HostConfig: { ...template.HostConfig, PortBindings: {}, ...(cpus ? { CpusetCpus: cpus } : {}) },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [...(endpoint.Aliases ?? [service])] } } },
    });
    await ct.start();
    created.push(ct.id);
  }
  await waitHealthy(docker, project, timeoutMs, created);
}

/** Until every (or each given) container of the project is healthy; fails fast on unhealthy or exited. */
async function waitHealthy(docker: Docker, project: string, timeoutMs: number, ids?: string[]) {
  if (ids?.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const targets = ids ?? (await projectContainers(docker, project, true)).map((c) => c.Id);
    let pending = 0;
    for (const id of targets) {
      const info = await docker.getContainer(id).inspect();
      const health = info.State.Health?.Status ?? (info.State.Running ? 'healthy' : 'exited');
      if (health === 'healthy') continue;
      if (health === 'unhealthy' || !info.State.Running) {
        const logs = await lastLogLine(docker, id);
        throw new Error(`container ${info.Name.slice(1)} is ${health}${logs ? `: ${logs}` : ''}`);
      }
      pending++;
    }
    if (pending === 0 && targets.length > 0) return;
    if (Date.now() > deadline) throw new Error(`${project}: not healthy after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
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

/** The gateway re-resolves DNS every second; scaling counts only once it can send to every replica. */
export async function waitGatewaySees(components: Component[], owner: string, replicas: number, timeoutMs: number) {
  const gw = components.find((c) => c.service === 'gateway');
  if (!gw) throw new Error(`${owner}: no gateway container`);
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    const res = await request(`${gw.url}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    const samples = parsePrometheusText(await res.body.text());
    const count = (state: string) =>
      samples.find((x) => x.name === 'gateway_upstreams' && x.labels.state === state)?.value;
    seen = `${count('known')}/${count('usable')}`;
    if (count('known') === replicas && count('usable') === replicas) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${owner}: the gateway sees ${seen} (known/usable) replicas, not ${replicas}`);
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
      try {
        const s = (await docker
          .getContainer(c.containerId)
          .stats({ stream: false, 'one-shot': true } as { stream: false })) as EngineStats;
        const mem = s.memory_stats ?? {};
        // What `docker stats` shows: usage less page cache the kernel may drop at will.
        const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
        const rssMB = Math.max(0, (mem.usage ?? 0) - inactive) / 2 ** 20;
        const peak = Math.max(peaks.get(c.containerId) ?? 0, rssMB);
        peaks.set(c.containerId, peak);
        out.set(c.name, {
          cpuSeconds: (s.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e9,
          rssMB,
          rssPeakMB: peak,
        });
      } catch {
        // Removed while sampling (scaled down): left out, as a dead process is.
      }
    }),
  );
  return out;
}

/** Stop and remove everything of a project: Compose's own down, then anything it missed. */
export async function removeProject(docker: Docker, project: ComposeProject) {
  await compose(project, ['down', '--remove-orphans', '--volumes', '--timeout', '10']).catch(() => undefined);
  for (const c of await projectContainers(docker, project.name, true))
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  const nets = await docker.listNetworks({ filters: { label: [`${PROJECT}=${project.name}`] } });
  for (const n of nets)
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
