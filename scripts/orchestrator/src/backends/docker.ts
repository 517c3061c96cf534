import Docker from 'dockerode';
import { done, notYet, pollUntil } from '../sys/poll.js';
import { type ComposeProject, compose, composeCommand } from './compose.js';
import {
  adopt,
  checkEngineAndImages,
  containerResources,
  containerSpreading,
  type Described,
  type DockerComponent,
  type DockerDeployment,
  lastLogLine,
  METRICS_PORT,
  pinContainers,
  projectName,
  replicaTier,
  waitGatewaySees,
} from './containers.js';
import { modelContainerEnv } from './model-memory.js';
import type { ServiceName, Topology } from './types.js';

/** Every container of a project carries these (Compose's own labels; `docker compose ps` reads them). */
export const PROJECT = 'com.docker.compose.project';
const SERVICE = 'com.docker.compose.service';
const NUMBER = 'com.docker.compose.container-number';
const CONTAINER_PORT = 8080;

export interface DockerBackendOptions {
  /** cpuset for every service container, e.g. "1" (the process backend's taskset rule). */
  serverCpus?: string | undefined;
  startTimeoutMs?: number;
  docker?: Docker;
  /** How often engine stats are read to track each container's peak memory. */
  memoryPollMs?: number;
  /** Gateway containers in front of the prediction tier (microservices; default 1). */
  gateways?: number | undefined;
  /** A model of your own, bind-mounted read-only (default: the image's); the limit follows its size. */
  modelPath?: string | undefined;
}

/** A one-line reason when the engine or the images are missing, before anything is started. */
export async function checkDockerReady(docker = new Docker()): Promise<void> {
  await checkEngineAndImages(docker);
  if (!(await composeCommand()))
    throw new Error("--backend docker needs 'docker compose' or 'docker-compose' (scripts/docker/ensure-engine.sh)");
}

async function composeProject(topology: Topology, modelPath: string | undefined): Promise<ComposeProject> {
  const model = await modelContainerEnv(modelPath);
  return {
    name: projectName(topology),
    files: [`${topology}.yaml`, ...(model.mount ? [`model-${topology}.yaml`] : [])],
    env: {
      // Load goes straight to container addresses (no docker-proxy hop), so nothing needs a fixed port.
      MONOLITH_PUBLISH: '127.0.0.1:',
      GATEWAY_PUBLISH: '127.0.0.1:',
      ...model.env,
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
  const project = await composeProject(topology, opts.modelPath);
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
      gateways: topology === 'microservices' ? 1 : 0,
      project: project.name,
      entryUrls: [],
      components,
      servedByAlias,
      hops: topology === 'monolith' ? 1 : 2,
      entrySpreading: containerSpreading(
        topology,
        replicas,
        'containers on a Docker bridge network',
        opts.gateways ?? 1,
      ),
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
    if (topology === 'microservices' && (opts.gateways ?? 1) !== 1) {
      // More gateways: copies of gateway 1, found by the client at their own addresses.
      await scaleTier(docker, project.name, 'gateway', opts.gateways!, timeoutMs, opts.serverCpus);
      await refresh();
      await waitGatewaySees(dep.components, project.name, replicas, timeoutMs);
    }
    resources.start();
    return dep;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
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
      component: {
        name: `${service}-${number}`,
        service,
        url: `http://${ip}:${CONTAINER_PORT}`,
        metricsUrl: `http://${ip}:${METRICS_PORT}`,
        containerId: c.Id,
      },
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
  await pollUntil(
    async () => {
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
      return pending === 0 && targets.length > 0 ? done(undefined) : notYet;
    },
    { timeoutMs, intervalMs: 250, onTimeout: () => new Error(`${project}: not healthy after ${timeoutMs / 1000} s`) },
  );
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
