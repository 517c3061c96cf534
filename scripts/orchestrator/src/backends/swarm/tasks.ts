import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { done, notYet, pollUntil } from '../../sys/poll.js';
import { type Described, lastLogLine, METRICS_PORT } from '../containers.js';
import type { ServiceName, Topology } from '../types.js';
import { engineClient, type SwarmNode } from './nodes.js';

const _run = promisify(execFile);

/** Every service, task container and network of a stack carries it (set by `docker stack deploy`). */
export const STACK = 'com.docker.stack.namespace';
export const CONTAINER_PORT = 8080;
/** The bridge every task container also joins for traffic off the overlay; the host can reach it. */
const GWBRIDGE = 'docker_gwbridge';

/** The swarm's node IDs by hostname and back, with each node's engine where the nodes file gives one. */
export async function swarmNodes(docker: Docker, specs: Map<string, SwarmNode>) {
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
export function addressIsHere(addr: string): boolean {
  if (addr === '127.0.0.1' || addr === '::1') return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === addr));
}

export interface Task {
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

export async function stackTasks(docker: Docker, stack: string): Promise<(Task & { service: ServiceName })[]> {
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
export async function waitConverged(
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

/** Change a service's replica count through the Docker API (a service update, as `docker service scale`). */
export async function scaleService(docker: Docker, name: string, replicas: number) {
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
export async function describeStack(
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
