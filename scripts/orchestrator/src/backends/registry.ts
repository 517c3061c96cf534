import type { DeploymentFile } from './deployment-file.js';
import type { GatewayKind } from './nginx.js';
import { deployProcesses } from './process.js';
import type { Deployment, Topology } from './types.js';

export interface DeployOptions {
  modelPath: string;
  runId: string;
  serverCpus?: string | undefined;
  /** Gateways in front of the prediction tier (microservices only; default 1). */
  gateways?: number | undefined;
  /** Environment for every service (process backend only: images take theirs from compose). */
  extraEnv?: Record<string, string> | undefined;
  /** Which gateway the microservices get (process backend; default fastify, ours). */
  gateway?: GatewayKind | undefined;
  /** Which of the backend's implementations to deploy (several deployment files). */
  implementation?: string | undefined;
}

/** Where a topology runs: what it can do, how to check it is there, how to deploy on it. */
export interface Backend {
  name: BackendName;
  /** Whose services it runs, when not ours (the deployment file's name). */
  implementation?: string;
  /** Several in one run (deploy picks one by DeployOptions.implementation). */
  implementations?: string[];
  /** What its components are called in progress lines. */
  units: string;
  /** Faults act on local processes (signals), so only a backend of local processes takes them. */
  faults: boolean;
  /** Any model artifact (`--model`, the model-cost sweep); Swarm tasks carry the image's model only. */
  anyModel: boolean;
  /** One-line reason to stop before anything starts, or nothing. */
  checkReady(): Promise<void>;
  deploy(topology: Topology, replicas: number, o: DeployOptions): Promise<Deployment>;
  /** Containers outlive a killed mlbench: this hands them to a detached cleaner. */
  cleanupDetached?(): Promise<void>;
}

export type BackendName = 'process' | 'docker' | 'swarm' | 'command' | 'external';

const cleanupDetached = async () => (await import('./reap.js')).cleanupDetached();

/** Docker modules (dockerode) load only when a Docker backend is used. */
export const BACKENDS: Record<Exclude<BackendName, 'command' | 'external'>, Backend> = {
  process: {
    name: 'process',
    units: 'processes',
    faults: true,
    anyModel: true,
    checkReady: async () => undefined,
    deploy: (t, replicas, o) =>
      deployProcesses(t, replicas, {
        modelPath: o.modelPath,
        runId: o.runId,
        serverCpus: o.serverCpus,
        gateways: o.gateways,
        gateway: o.gateway,
        extraEnv: o.extraEnv,
      }),
  },
  docker: {
    name: 'docker',
    units: 'containers',
    faults: false,
    // A model other than the image's is bind-mounted (compose/model-<topology>.yaml).
    anyModel: true,
    checkReady: async () => (await import('./docker.js')).checkDockerReady(),
    deploy: async (t, replicas, o) =>
      (await import('./docker.js')).deployDocker(t, replicas, {
        serverCpus: o.serverCpus,
        gateways: o.gateways,
        modelPath: o.modelPath,
      }),
    cleanupDetached,
  },
  swarm: {
    name: 'swarm',
    units: 'tasks',
    faults: false,
    anyModel: false,
    checkReady: async () => (await import('./swarm/deploy.js')).checkSwarmReady(),
    deploy: async (t, replicas, o) =>
      (await import('./swarm/deploy.js')).deploySwarm(t, replicas, { serverCpus: o.serverCpus, gateways: o.gateways }),
    cleanupDetached,
  },
};

/**
 * The user's own services from a deployment file (`--backend command --deployment FILE`):
 * local processes like ours, so faults apply; their model is their own, so no sweep.
 */
export function commandBackend(files: DeploymentFile[]): Backend {
  const names = files.map((f) => f.implementation);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`two deployment files are both named ${twice}: give one of them another name`);
  return {
    name: 'command',
    implementation: names.join('+'),
    ...(files.length > 1 ? { implementations: names } : {}),
    units: 'processes',
    faults: true,
    anyModel: false,
    checkReady: async () => undefined,
    deploy: async (t, replicas, o) =>
      (await import('./command.js')).deployCommand(t, replicas, {
        deployment: files.find((f) => f.implementation === o.implementation) ?? files[0]!,
        runId: o.runId,
        modelPath: o.modelPath,
        serverCpus: o.serverCpus,
        gateways: o.gateways,
      }),
  };
}

/** What is already running (`--backend external`): measured where it is, never started, scaled or stopped. */
export function externalBackend(deployment: DeploymentFile, allowRemote: boolean): Backend {
  return {
    name: 'external',
    implementation: deployment.implementation,
    units: 'components',
    faults: false,
    anyModel: false,
    checkReady: async () => undefined,
    deploy: async (t) => (await import('./external.js')).deployExternal(t, deployment, { allowRemote }),
  };
}

export const BACKEND_NAMES = [...Object.keys(BACKENDS), 'command', 'external'] as BackendName[];

export interface BackendRequest {
  deployment?: string | undefined;
  /** --target topology=URL[,URL…] (external). */
  targets?: string[] | undefined;
  allowRemote?: boolean | undefined;
  /** The stated replica count for --target microservices (its prediction replicas are not seen). */
  statedReplicas?: number | undefined;
}

/** The backend a command line names; `command` and `external` need their deployment, loaded and checked. */
export async function backendFor(name: BackendName, r: BackendRequest, topologies: Topology[]): Promise<Backend> {
  if (name !== 'command' && name !== 'external') {
    if (r.deployment !== undefined) throw new Error('--deployment is for --backend command or external');
    if (r.targets?.length) throw new Error('--target is for --backend external');
    return BACKENDS[name];
  }
  const { loadDeploymentFile, servicesOf } = await import('./deployment-file.js');
  if (name === 'command') {
    if (r.targets?.length) throw new Error('--target is for --backend external');
    if (r.deployment === undefined)
      throw new Error('--backend command needs --deployment FILE (see reference/article/article.yaml)');
    const { checkCommands } = await import('./command.js');
    // Several files (a,b): every implementation deployed in the same run, trials alternating over them.
    const files = await Promise.all(r.deployment.split(',').map((f) => loadDeploymentFile(f, 'command')));
    for (const d of files) checkCommands(d, topologies);
    return commandBackend(files);
  }
  if ((r.deployment === undefined) === !r.targets?.length)
    throw new Error('--backend external needs --target topology=URL[,URL…] or --deployment FILE (one of them)');
  const { targetsToDeployment, checkTargetHost } = await import('./external.js');
  const d =
    r.deployment !== undefined
      ? await loadDeploymentFile(r.deployment, 'external')
      : targetsToDeployment(r.targets!, r.statedReplicas);
  for (const t of topologies) {
    const services = servicesOf(d, t);
    if (!services)
      throw new Error(
        `${d.file === '--target' ? `no --target ${t}=URL` : `${d.file} describes no ${t}`} (use --topology ${t === 'monolith' ? 'microservices' : 'monolith'}, or add it)`,
      );
    for (const [, spec] of services)
      for (const e of spec.at!) for (const u of [e.url, e.metrics]) if (u) checkTargetHost(u, r.allowRemote === true);
  }
  return externalBackend(d, r.allowRemote === true);
}
