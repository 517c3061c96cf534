import { describePolicy } from '@mlbench/balancer';
import { request } from 'undici';
import { sampleComponents } from '../sys/procfs.js';
import type { DeploymentFile, EndpointSpec } from './deployment-file.js';
import { servicesOf } from './deployment-file.js';
import type { Component, Deployment, Topology } from './types.js';

/**
 * `--backend external`: measure what is already running. Nothing is started, scaled or
 * stopped; replica counts are stated (the replicas listed), and a component is sampled for
 * CPU and memory only where its PID (or Docker container) is given, per-hop time only where
 * its /metrics is.
 */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Loopback unless the user asked for more: traffic goes where they point it, and nowhere by accident. */
export function checkTargetHost(url: string, allowRemote: boolean): void {
  const host = new URL(url).hostname;
  if (!allowRemote && !LOOPBACK.has(host))
    throw new Error(`${url} is not on this machine; pass --allow-remote to load a remote deployment`);
}

/** `--target monolith=URL[,URL…]`: a deployment file's worth of entry URLs, nothing else known. */
export function targetsToDeployment(targets: string[], stated: number | undefined): DeploymentFile {
  const d: DeploymentFile = {
    file: '--target',
    dir: process.cwd(),
    implementation: 'external',
    startTimeoutMs: 0,
    health: null,
  };
  for (const t of targets) {
    const m = /^(monolith|microservices)=(.+)$/.exec(t);
    if (!m) throw new Error(`--target ${t}: expected monolith=URL[,URL…] or microservices=URL[,URL…]`);
    const urls = m[2]!.split(',').map((u) => u.trim().replace(/\/+$/, ''));
    for (const u of urls)
      if (!/^https?:\/\/[^/]+$/.test(u)) throw new Error(`--target ${t}: ${u} is not an http(s)://host:port URL`);
    const at = urls.map((url) => ({ url }));
    if (m[1] === 'monolith') d.monolith = { monolith: { at } };
    else
      d.microservices = {
        gateway: { at },
        // Not reachable from here: stated, so the report names the count.
        prediction: { at: Array.from({ length: stated ?? 1 }, () => ({})) },
      };
  }
  return d;
}

async function pidOf(e: EndpointSpec): Promise<number | undefined> {
  if (e.pid) return e.pid;
  if (!e.container) return undefined;
  const Docker = (await import('dockerode')).default;
  const info = await new Docker().getContainer(e.container).inspect();
  if (!info.State.Running || !info.State.Pid) throw new Error(`container ${e.container} is not running`);
  return info.State.Pid;
}

async function answers(url: string): Promise<void> {
  try {
    const res = await request(`${url}/predict`, { method: 'GET', headersTimeout: 3000, bodyTimeout: 3000 });
    await res.body.dump();
  } catch (err) {
    throw new Error(`${url} does not answer (${(err as Error).message}): is the deployment running?`);
  }
}

export async function deployExternal(
  topology: Topology,
  d: DeploymentFile,
  o: { allowRemote: boolean },
): Promise<Deployment> {
  const services = servicesOf(d, topology);
  if (!services) throw new Error(`${d.file} describes no ${topology}`);
  const components: Component[] = [];
  for (const [role, spec] of services)
    for (const [i, e] of spec.at!.entries()) {
      for (const u of [e.url, e.metrics]) if (u) checkTargetHost(u, o.allowRemote);
      components.push({
        name: `${role}-${i + 1}`,
        service: role,
        url: e.url?.replace(/\/+$/, '') ?? '',
        metricsUrl: e.metrics?.replace(/\/metrics\/?$/, '').replace(/\/+$/, '') ?? (e.url ? undefined : ''),
        pid: await pidOf(e),
        histograms: e.histograms,
      });
    }
  const entry = components.filter((c) => c.service !== 'prediction');
  await Promise.all(entry.map((c) => answers(c.url)));
  const replicas = components.filter((c) => c.service === (topology === 'monolith' ? 'monolith' : 'prediction')).length;
  const health = d.health ?? null;
  return {
    topology,
    backend: 'external',
    implementation: d.implementation,
    healthPath: health,
    replicas,
    gateways: topology === 'microservices' ? entry.length : 0,
    entryUrls: entry.map((c) => c.url),
    components,
    hops: topology === 'monolith' ? 1 : 2,
    entrySpreading:
      topology === 'monolith' || entry.length > 1
        ? `client-side balancer in the load generator over ${entry.length} ${topology === 'monolith' ? 'monolith replica(s)' : 'gateways'} of ${d.implementation} (running already; stated, not scaled): ${describePolicy()}${health === null ? ' (no active checks: passive ejection only)' : ` (checks GET ${health})`}`
        : `${d.implementation}'s own gateway over ${replicas} prediction replica(s) (running already; stated, not scaled): its balancing is its own`,
    sampleResources: async () => sampleComponents(components),
    // Not ours to stop.
    stop: async () => undefined,
  };
}
