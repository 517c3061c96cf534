import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { COMPOSE_DIR, REPO_ROOT } from '../../sys/repo.js';
import { which } from '../../sys/which.js';
import { composePins, imageOf } from '../compose.js';
import {
  adopt,
  checkEngineAndImages,
  containerResources,
  containerSpreading,
  type DockerComponent,
  type DockerDeployment,
  pinContainers,
  projectName,
  replicaTier,
  waitGatewaySees,
} from '../containers.js';
import type { Topology } from '../types.js';
import { loadSwarmNodes, type SwarmNode } from './nodes.js';

const run = promisify(execFile);

import { removeStack } from './cleanup.js';
import { type NodeLoss, nodeLoss } from './node-loss.js';
import { describeStack, scaleService, swarmNodes, waitConverged } from './tasks.js';

export type { NodeLoss };

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
