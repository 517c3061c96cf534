import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { done, notYet, pollUntil } from '../../sys/poll.js';
import { replicaTier } from '../containers.js';
import type { Topology } from '../types.js';
import { NODES_ENV, nodeCommand, type SwarmNode } from './nodes.js';

const _run = promisify(execFile);

import { stackTasks, swarmNodes } from './tasks.js';

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

/** The node-stop fault on a stack: the nodes file says how to stop and start each node's engine. */
export function nodeLoss(
  docker: Docker,
  stack: string,
  topology: Topology,
  specs: Map<string, SwarmNode>,
  dep: () => { replicas: number },
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
