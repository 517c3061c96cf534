import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { done, notYet, pollUntil } from '../poll.js';
import { COMPOSE_DIR, composePins, imageOf, REPO_ROOT } from './compose.js';
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
import { engineClient, loadSwarmNodes, NODES_ENV, nodeCommand, type SwarmNode } from './swarm-nodes.js';
import type { ServiceName, Topology } from './types.js';
import { which } from './which.js';

const run = promisify(execFile);

/** Every service, task container and network of a stack carries it (set by `docker stack deploy`). */
export const STACK = 'com.docker.stack.namespace';
const CONTAINER_PORT = 8080;
/** The bridge every task container also joins for traffic off the overlay; the host can reach it. */
const GWBRIDGE = 'docker_gwbridge';

export interface SwarmBackendOptions {
  /** cpuset for every task container on this node (the process backend's taskset rule). */
  serverCpus?: string | undefined;
  convergeTimeoutMs?: number;
  docker?: Docker;
  memoryPollMs?: number;
  /** Gateway tasks in front of the prediction tier (microservices; default 1). */
  gateways?: number | undefined;
  /** Other nodes' engines and stop/start commands (default: the MLBENCH_SWARM_NODES file). */
  nodes?: Map<string, SwarmNode>;
}

/** A node lost on purpose (the node-stop fault): which, and how long until the swarm made up for it. */
export interface NodeLoss {
  /** A worker running a task of the scaled tier and, where there is such a worker, no entry task. */
  pick(): Promise<string>;
  stop(node: string): Promise<void>;
  /** Until the scaled tier runs its replica count again (elsewhere), then adopt the new tasks. */
  waitRescheduled(): Promise<void>;
  /** Start the node's engine again and wait until the swarm lists it ready. */
  restore(node: string): Promise<void>;
}

/** A stack is a Compose project to the rest of mlbench: same results, components, scale(). */
export interface SwarmDeployment extends DockerDeployment {
  nodeLoss: NodeLoss;
}

/** MLBENCH_SWARM_PUBLISH: unset (this node's tasks at their bridge addresses), 1 (the entry tier), all. */
function publishMode(): 'none' | 'entry' | 'all' {
  const v = process.env.MLBENCH_SWARM_PUBLISH;
  return v === 'all' ? 'all' : v === '1' ? 'entry' : 'none';
}

/** "registry.example.com/…" or "10.0.0.2:5000/…": nodes pull from a registry, pinned by digest. */
export function prefixNamesRegistry(prefix = composePins().IMAGE_PREFIX ?? 'mlbench/'): boolean {
  return /[.:]/.test(prefix.split('/')[0]!);
}

/** A one-line reason when there is no engine, no swarm, or no images, before anything is deployed. */
export async function checkSwarmReady(docker = new Docker()): Promise<void> {
  // Images in a registry are where the nodes pull them from, not necessarily on the manager.
  if (prefixNamesRegistry()) await checkRegistryImages(docker);
  else await checkEngineAndImages(docker);
  loadSwarmNodes();
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
  const state = info.Swarm?.LocalNodeState ?? 'inactive';
  if (state !== 'active')
    throw new Error(
      `this Docker engine is not in a swarm (state: ${state}); 'make swarm-up' or 'scripts/docker/swarm.sh init' makes a single-node one`,
    );
  if (!info.Swarm?.ControlAvailable)
    throw new Error('this node is a swarm worker: run mlbench on a manager (it deploys and scales services)');
  if (!which('docker')) throw new Error("--backend swarm needs the 'docker' CLI for 'docker stack deploy'");
}

async function checkRegistryImages(docker: Docker) {
  for (const s of ['monolith', 'prediction', 'gateway']) {
    const ref = imageOf(s);
    const ok = await (docker.getImage(ref) as unknown as { distribution(): Promise<unknown> }).distribution().then(
      () => true,
      () => false,
    );
    if (!ok)
      throw new Error(
        `the swarm manager cannot find ${ref} in its registry: push it first (make push-images, or swarm-cluster.sh up)`,
      );
  }
}

/** The swarm's node IDs by hostname and back, with each node's engine where the nodes file gives one. */
async function swarmNodes(docker: Docker, specs: Map<string, SwarmNode>) {
  const list = (await docker.listNodes()) as {
    ID: string;
    Description?: { Hostname?: string };
    Status?: { Addr?: string };
  }[];
  const byId = new Map<string, { hostname: string; addr: string; engine?: Docker }>();
  for (const n of list) {
    const hostname = n.Description?.Hostname ?? n.ID;
    const spec = specs.get(hostname);
    byId.set(n.ID, { hostname, addr: n.Status?.Addr ?? '', ...(spec ? { engine: engineClient(spec.engine) } : {}) });
  }
  return byId;
}

/** This host has the address: a task's docker_gwbridge on that node is reachable from here. */
function addressIsHere(addr: string): boolean {
  if (addr === '127.0.0.1' || addr === '::1') return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === addr));
}

/**
 * Deploy a topology as a stack (compose/swarm/<topology>.yaml) with the requested replicas,
 * wait until every task runs healthy, and measure it like any other deployment. Entry tasks
 * publish in host mode on port 0 (a free port each), so stacks never collide on a node.
 */
export async function deploySwarm(
  topology: Topology,
  replicas: number,
  opts: SwarmBackendOptions,
): Promise<SwarmDeployment> {
  const docker = opts.docker ?? new Docker();
  const stack = projectName(topology);
  const tier = replicaTier(topology);
  const timeoutMs = opts.convergeTimeoutMs ?? 180_000;
  const specs = opts.nodes ?? loadSwarmNodes();
  const components: DockerComponent[] = [];
  const resources = containerResources(docker, components, opts.memoryPollMs);
  const stop = async () => {
    resources.stop();
    await removeStack(docker, stack);
  };
  try {
    const gateways = topology === 'microservices' ? (opts.gateways ?? 1) : 0;
    await stackDeploy(topology, stack, replicas, gateways);
    const servedByAlias: Record<string, string> = {};
    const refresh = async () => {
      const found = await describeStack(docker, stack, await swarmNodes(docker, specs));
      adopt(dep, found);
      if (opts.serverCpus)
        await pinContainers(
          docker,
          found.filter((f) => f.local).map((f) => f.component.containerId),
          opts.serverCpus,
        );
    };
    const settle = async (n: number) => {
      await waitConverged(docker, stack, topology, n, gateways, timeoutMs);
      await refresh();
      if (topology === 'microservices') await waitGatewaySees(components, stack, n, timeoutMs);
    };
    const dep: SwarmDeployment = {
      topology,
      backend: 'swarm',
      replicas,
      gateways,
      project: stack,
      entryUrls: [],
      components,
      servedByAlias,
      hops: topology === 'monolith' ? 1 : 2,
      entrySpreading: containerSpreading(topology, replicas, 'Swarm tasks on an overlay network, dnsrr', gateways),
      stop,
      scale: async (n: number) => {
        await scaleService(docker, `${stack}_${tier}`, n);
        await settle(n);
      },
      sampleResources: resources.sample,
      nodeLoss: nodeLoss(docker, stack, topology, specs, () => dep, settle),
    };
    await settle(replicas);
    resources.start();
    return dep;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** `docker stack deploy` with the .env pins: the CLI is what turns a stack file into services. */
async function stackDeploy(topology: Topology, stack: string, replicas: number, gateways: number) {
  const pins = composePins();
  const env = {
    ...process.env,
    ...pins,
    MONOLITH_REPLICAS: String(replicas),
    PREDICTION_REPLICAS: String(replicas),
    GATEWAY_REPLICAS: String(Math.max(1, gateways)),
    SWARM_MONOLITH_PORT: '0',
    SWARM_GATEWAY_PORT: '0',
  };
  // Swarm publishes on every interface of a node or not at all: tasks on this node are reached
  // at their docker_gwbridge addresses, so only a multi-node stack needs it (opt-in).
  const mode = publishMode();
  const publish =
    mode === 'none' ? [] : ['-c', `${COMPOSE_DIR}/swarm/publish-${mode === 'all' ? 'all-' : ''}${topology}.yaml`];
  const args = [
    'stack',
    'deploy',
    // From a registry, the manager pins each image to its digest and every node pulls that.
    ...(prefixNamesRegistry(pins.IMAGE_PREFIX) ? ['--resolve-image', 'always'] : ['--resolve-image', 'never']),
    '-c',
    `${COMPOSE_DIR}/swarm/${topology}.yaml`,
    ...publish,
    stack,
  ];
  try {
    await run('docker', args, { cwd: REPO_ROOT, env, timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker stack deploy ${stack} failed: ${(e.stderr ?? e.message).trim().split('\n').pop()}`);
  }
}

interface Task {
  ID: string;
  Slot?: number;
  NodeID: string;
  DesiredState: string;
  ServiceID: string;
  Status: {
    State: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string };
    PortStatus?: { Ports?: { TargetPort: number; PublishedPort: number }[] };
  };
}

async function stackTasks(docker: Docker, stack: string): Promise<(Task & { service: ServiceName })[]> {
  const services = await docker.listServices({ filters: { label: [`${STACK}=${stack}`] } });
  const names = new Map(services.map((s) => [s.ID!, s.Spec!.Name!.slice(stack.length + 1) as ServiceName]));
  const tasks = (await docker.listTasks({ filters: { label: [`${STACK}=${stack}`] } })) as Task[];
  return tasks.filter((t) => names.has(t.ServiceID)).map((t) => ({ ...t, service: names.get(t.ServiceID)! }));
}

/**
 * Until the tier has exactly `replicas` running tasks (a task is "running" only once its health
 * check passes) and the entry service one, with no task still shutting down; fails fast when a
 * task is rejected or fails, with the engine's reason.
 */
async function waitConverged(
  docker: Docker,
  stack: string,
  topology: Topology,
  replicas: number,
  gateways: number,
  timeoutMs: number,
) {
  const want = new Map<ServiceName, number>(
    topology === 'monolith'
      ? [['monolith', replicas]]
      : [
          ['prediction', replicas],
          ['gateway', gateways],
        ],
  );
  let seen = '';
  let pendingErr = '';
  await pollUntil(
    async () => {
      // A lost node's tasks keep their last state ("running") until it comes back: not lingering.
      const down = new Set(
        ((await docker.listNodes()) as { ID: string; Status?: { State?: string } }[])
          .filter((n) => n.Status?.State !== 'ready')
          .map((n) => n.ID),
      );
      const tasks = (await stackTasks(docker, stack)).filter((t) => !down.has(t.NodeID));
      for (const t of tasks) {
        if (t.DesiredState === 'running' && (t.Status.State === 'rejected' || t.Status.State === 'failed')) {
          const id = t.Status.ContainerStatus?.ContainerID;
          const log = id ? await lastLogLine(docker, id) : '';
          throw new Error(
            `${stack}: task ${t.service}.${t.Slot} ${t.Status.State}: ${t.Status.Err ?? ''}${log ? ` (${log})` : ''}`,
          );
        }
      }
      const running = (s: ServiceName) =>
        tasks.filter((t) => t.service === s && t.DesiredState === 'running' && t.Status.State === 'running').length;
      const lingering = tasks.filter((t) => t.DesiredState !== 'running' && t.Status.State === 'running').length;
      seen = [...want.keys()].map((s) => `${s} ${running(s)}/${want.get(s)}`).join(', ');
      const pending = tasks.find((t) => t.DesiredState === 'running' && t.Status.State !== 'running');
      pendingErr = pending?.Status.Err ? `; ${pending.Status.Err}` : '';
      return [...want].every(([s, n]) => running(s) === n) && lingering === 0 ? done(undefined) : notYet;
    },
    {
      timeoutMs,
      intervalMs: 250,
      onTimeout: () => new Error(`${stack}: not converged after ${timeoutMs / 1000} s (${seen}${pendingErr})`),
    },
  );
}

/** The node-stop fault on a stack: the nodes file says how to stop and start each node's engine. */
function nodeLoss(
  docker: Docker,
  stack: string,
  topology: Topology,
  specs: Map<string, SwarmNode>,
  dep: () => SwarmDeployment,
  settle: (n: number) => Promise<void>,
): NodeLoss {
  const tier = replicaTier(topology);
  return {
    async pick() {
      if (specs.size === 0)
        throw new Error(
          `the node-stop fault needs ${NODES_ENV}: a file with each node's engine and stop/start commands`,
        );
      const nodes = await swarmNodes(docker, specs);
      const managers = new Set(
        ((await docker.listNodes()) as { ID: string; Spec?: { Role?: string } }[])
          .filter((n) => n.Spec?.Role === 'manager')
          .map((n) => n.ID),
      );
      const tasks = (await stackTasks(docker, stack)).filter(
        (t) => t.DesiredState === 'running' && t.Status.State === 'running',
      );
      const candidates = [...new Set(tasks.filter((t) => t.service === tier).map((t) => t.NodeID))]
        .filter((id) => !managers.has(id) && specs.get(nodes.get(id)?.hostname ?? '')?.stop)
        .sort();
      // Losing the gateway's node too would measure the gateway's reschedule, not the tier's.
      const best =
        candidates.find((id) => !tasks.some((t) => t.NodeID === id && t.service === 'gateway')) ?? candidates[0];
      if (!best) throw new Error(`${stack}: no worker node runs a ${tier} task and has a stop command to lose`);
      return nodes.get(best)!.hostname;
    },
    stop: (node) => nodeCommand(node, 'stop', specs.get(node)),
    waitRescheduled: () => settle(dep().replicas),
    async restore(node) {
      await nodeCommand(node, 'start', specs.get(node));
      let state = '';
      await pollUntil(
        async () => {
          const list = (await docker.listNodes()) as {
            Description?: { Hostname?: string };
            Status?: { State?: string };
          }[];
          state = list.find((n) => n.Description?.Hostname === node)?.Status?.State ?? 'absent';
          return state === 'ready' ? done(undefined) : notYet;
        },
        {
          timeoutMs: 120_000,
          intervalMs: 500,
          onTimeout: () => new Error(`node ${node} is ${state}, not ready, 120 s after its start`),
        },
      );
      await settle(dep().replicas);
    },
  };
}

/** Change a service's replica count through the Docker API (a service update, as `docker service scale`). */
async function scaleService(docker: Docker, name: string, replicas: number) {
  const service = docker.getService(name);
  const info = (await service.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
  await service.update({ ...info.Spec, version: info.Version.Index, Mode: { Replicated: { Replicas: replicas } } });
}

interface TaskDescribed extends Described {
  /** The task's container runs on this node (CPU, memory and pinning come from this engine). */
  local: boolean;
}

/**
 * Components of a stack: one per running task, named "<service>-<slot>". A task on this node is
 * reached at its docker_gwbridge address (no docker-proxy hop, as the docker backend does);
 * a task elsewhere only where it publishes a port, at its node's address.
 */
async function describeStack(
  docker: Docker,
  stack: string,
  nodes: Awaited<ReturnType<typeof swarmNodes>>,
): Promise<TaskDescribed[]> {
  const tasks = (await stackTasks(docker, stack)).filter(
    (t) => t.DesiredState === 'running' && t.Status.State === 'running',
  );
  const self = ((await docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID;
  // The manager's own tasks are at its docker_gwbridge addresses only if that bridge is on this
  // host: not when the manager is a node of its own (another machine, or a swarm-cluster node).
  const bridgeHere = self !== undefined && addressIsHere(nodes.get(self)?.addr ?? '');
  const bridge = bridgeHere
    ? ((await docker.getNetwork(GWBRIDGE).inspect()) as { Containers?: Record<string, { IPv4Address: string }> })
    : {};
  const out: TaskDescribed[] = [];
  for (const t of tasks) {
    const containerId = t.Status.ContainerStatus?.ContainerID ?? '';
    const local = bridgeHere && t.NodeID === self && containerId !== '';
    const node = nodes.get(t.NodeID);
    const gw = local ? bridge.Containers?.[containerId]?.IPv4Address.split('/')[0] : undefined;
    let url: string;
    // A remote task's metrics port is published only with MLBENCH_SWARM_PUBLISH=all (it is
    // internal); otherwise its hop is left out (hops.missing) rather than read from the wrong place.
    let metricsUrl: string | undefined;
    if (gw) {
      url = `http://${gw}:${CONTAINER_PORT}`;
      metricsUrl = `http://${gw}:${METRICS_PORT}`;
    } else {
      const published = (target: number) =>
        t.Status.PortStatus?.Ports?.find((p) => p.TargetPort === target)?.PublishedPort;
      const port = published(CONTAINER_PORT);
      if (!port || !node?.addr)
        throw new Error(
          `${stack}: task ${t.service}.${t.Slot} runs on node ${node?.hostname ?? t.NodeID} and publishes no port; the swarm backend reaches other nodes only through published ports (MLBENCH_SWARM_PUBLISH=all publishes every task's, on every interface of those nodes)`,
        );
      url = `http://${node.addr}:${port}`;
      const mport = published(METRICS_PORT);
      if (mport) metricsUrl = `http://${node.addr}:${mport}`;
    }
    // CPU and memory come from the engine that runs the task: this one, or the node's own.
    const engine = t.NodeID === self ? docker : node?.engine;
    out.push({
      component: {
        name: `${t.service}-${t.Slot}`,
        service: t.service,
        url,
        metricsUrl,
        containerId,
        node: node?.hostname ?? t.NodeID,
        ...(engine ? { engine } : { unsampled: true }),
      },
      // The stack files set hostname "{{.Service.Name}}-{{.Task.Slot}}"; services report hostname:port.
      replicaId: `${stack}_${t.service}-${t.Slot}:${CONTAINER_PORT}`,
      local,
    });
  }
  const order = ['monolith', 'prediction', 'gateway'];
  return out.sort(
    (a, b) =>
      order.indexOf(a.component.service) - order.indexOf(b.component.service) ||
      a.component.name.localeCompare(b.component.name, 'en', { numeric: true }),
  );
}

/**
 * Remove a stack as `docker stack rm` does (services, then the network), and wait until its
 * containers are gone: they outlive their services by the stop grace period.
 */
export async function removeStack(docker: Docker, stack: string, timeoutMs = 60_000): Promise<void> {
  const filters = { label: [`${STACK}=${stack}`] };
  for (const s of await docker.listServices({ filters }))
    await docker
      .getService(s.ID!)
      .remove()
      .catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  let left = '';
  await pollUntil(
    async () => {
      const containers = await docker.listContainers({ all: true, filters });
      const networks = await docker.listNetworks({ filters });
      if (containers.length === 0 && networks.length === 0) return done(undefined);
      left = `${containers.length} containers, ${networks.length} networks`;
      // The network goes once no task uses it; until then the engine refuses.
      if (containers.length === 0)
        for (const n of networks)
          await docker
            .getNetwork(n.Id)
            .remove()
            .catch(() => undefined);
      // Last resort: the engine would remove them soon anyway, but nothing is to be left behind.
      if (Date.now() > deadline)
        for (const c of containers)
          await docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
      return notYet;
    },
    {
      timeoutMs: timeoutMs + 15_000,
      intervalMs: 250,
      onTimeout: () => new Error(`${stack}: ${left} left after removal`),
    },
  );
}

/** Bench stacks on this engine, by name (empty when the engine is in no swarm). */
export async function benchStacks(docker: Docker): Promise<string[]> {
  try {
    const services = await docker.listServices({ filters: { label: [STACK] } });
    return [...new Set(services.map((s) => s.Spec?.Labels?.[STACK] ?? ''))].filter(Boolean);
  } catch {
    return []; // "This node is not a swarm manager": no stacks here
  }
}
