import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { done, notYet, pollUntil } from '../../sys/poll.js';

const _run = promisify(execFile);

import { STACK } from './tasks.js';

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
