import { spawn } from 'node:child_process';
import Docker from 'dockerode';
import { pidAlive } from '../sys/child.js';
import { REPO_ROOT } from '../sys/repo.js';
import { PROJECT_NAME } from './containers.js';
import { PROJECT, removeProject } from './docker.js';
import { benchStacks, removeStack } from './swarm/cleanup.js';

/**
 * Remove bench projects and stacks whose owning mlbench process is gone (killed before it
 * could clean up), or, with `owner`, that process's ones once it has exited. Returns what
 * was removed.
 */
export async function reapOrphans(opts: { docker?: Docker; owner?: number } = {}): Promise<string[]> {
  const docker = opts.docker ?? new Docker();
  if (opts.owner !== undefined)
    for (let i = 0; i < 100 && pidAlive(opts.owner); i++) await new Promise((r) => setTimeout(r, 100));
  const orphaned = (name: string) => {
    const [, pid, topology] = PROJECT_NAME.exec(name) ?? [];
    if (!pid || !topology) return undefined;
    const gone = opts.owner !== undefined ? Number(pid) === opts.owner : !pidAlive(Number(pid));
    return gone ? topology : undefined;
  };
  const removed: string[] = [];
  for (const stack of await benchStacks(docker)) {
    if (!orphaned(stack)) continue;
    await removeStack(docker, stack);
    removed.push(stack);
  }
  const containers = await docker.listContainers({ all: true, filters: { label: [PROJECT] } });
  for (const p of new Set(containers.map((c) => c.Labels[PROJECT]!))) {
    const topology = orphaned(p);
    if (!topology) continue;
    await removeProject(docker, { name: p, files: [`${topology}.yaml`], env: {} });
    removed.push(p);
  }
  return removed;
}

/**
 * Last resort on a second Ctrl-C, when there is no time to wait: a detached
 * `mlbench down --docker --owner PID` that outlives this process and removes its projects.
 */
export function cleanupDetached(): void {
  const script = new URL('../cli.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, 'down', '--docker', '--owner', String(process.pid)], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}
