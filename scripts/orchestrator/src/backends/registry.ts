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
}

/** Where a topology runs: what it can do, how to check it is there, how to deploy on it. */
export interface Backend {
  name: BackendName;
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

export type BackendName = 'process' | 'docker' | 'swarm';

const cleanupDetached = async () => (await import('./reap.js')).cleanupDetached();

/** Docker modules (dockerode) load only when a Docker backend is used. */
export const BACKENDS: Record<BackendName, Backend> = {
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
    checkReady: async () => (await import('./swarm.js')).checkSwarmReady(),
    deploy: async (t, replicas, o) =>
      (await import('./swarm.js')).deploySwarm(t, replicas, { serverCpus: o.serverCpus, gateways: o.gateways }),
    cleanupDetached,
  },
};

export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];
