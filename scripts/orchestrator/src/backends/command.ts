import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { describePolicy } from '@mlbench/balancer';
import { ManagedProcess } from '../sys/child.js';
import { freePort } from '../sys/ports.js';
import { sampleComponents } from '../sys/procfs.js';
import { httpNotReady, waitUntilReady } from '../sys/ready.js';
import { which } from '../sys/which.js';
import { type DeploymentFile, fill, type ServiceSpec, servicesOf } from './deployment-file.js';
import type { ProcessDeployment } from './process.js';
import type { Component, ServiceName, Topology } from './types.js';

/**
 * `--backend command`: the user's own services, started from a deployment file, one process
 * per replica on a free loopback port, pinned and sampled like ours (/proc CPU and RSS),
 * stopped on Ctrl-C. Each runs under `setpriv --pdeathsig KILL` where util-linux has it, so
 * a killed mlbench takes them with it (ours watch MLBENCH_PARENT_PID; theirs do not know it).
 */

export interface CommandBackendOptions {
  deployment: DeploymentFile;
  runId: string;
  modelPath: string;
  serverCpus?: string | undefined;
  gateways?: number | undefined;
}

interface Started extends Component {
  proc: ManagedProcess;
  index: number;
}

function connectOnce(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
    s.setTimeout(1000, () => {
      s.destroy();
      res(false);
    });
  });
}

/** Ready when the port accepts a connection (the default), or when GET path answers 2xx. */
function notReady(spec: ServiceSpec, port: number): () => Promise<string | undefined> {
  const ready = spec.ready;
  if (!ready || ready === 'port')
    return async () => ((await connectOnce(port)) ? undefined : `port ${port} refuses connections`);
  return () => httpNotReady(`http://127.0.0.1:${port}`, ready.http, (s) => s >= 200 && s < 300);
}

async function startReplica(
  o: CommandBackendOptions,
  role: ServiceName,
  spec: ServiceSpec,
  index: number,
  upstreams: string[],
  fixedPort?: number,
): Promise<Started> {
  const name = `${role}-${index}`;
  const port = fixedPort ?? (await freePort());
  const values = {
    port: String(port),
    host: '127.0.0.1',
    replica: String(index),
    name,
    upstreams: upstreams.join(','),
    model: o.modelPath,
    dir: o.deployment.dir,
  };
  const argv = spec.command!.map((a) => fill(a, values));
  const setpriv = which('setpriv');
  const [command, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', ...argv]] : [argv[0]!, argv.slice(1)];
  const proc = new ManagedProcess(
    {
      name,
      command,
      args,
      cwd: resolve(o.deployment.dir, spec.cwd ?? '.'),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LANG: process.env.LANG ?? 'C.UTF-8',
        MLBENCH_RUN_ID: o.runId,
        MLBENCH_PARENT_PID: String(process.pid),
        ...Object.fromEntries(Object.entries(spec.env ?? {}).map(([k, v]) => [k, fill(v, values)])),
      },
      cpus: o.serverCpus,
    },
    o.serverCpus ? which('taskset') : undefined,
  );
  try {
    await waitUntilReady(proc, o.deployment.startTimeoutMs, notReady(spec, port));
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  return { name, service: role, url: `http://127.0.0.1:${port}`, pid: proc.pid, proc, index };
}

const countOf = (spec: ServiceSpec, role: ServiceName, replicas: number, gateways: number) => {
  const scales = spec.scales ?? (role === 'gateway' ? 'gateways' : 'replicas');
  return scales === 'fixed' ? 1 : scales === 'gateways' ? gateways : replicas;
};

export async function deployCommand(
  topology: Topology,
  replicas: number,
  o: CommandBackendOptions,
): Promise<ProcessDeployment> {
  const services = servicesOf(o.deployment, topology);
  if (!services) throw new Error(`${o.deployment.file} describes no ${topology}`);
  const gateways = topology === 'microservices' ? (o.gateways ?? 1) : 0;
  const started: Started[] = [];
  const upstreamsOf = new Map<string, string[]>();
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.proc.stop()));
  };
  try {
    let previous: string[] = [];
    for (const [role, spec] of services) {
      const n = countOf(spec, role, replicas, gateways);
      const ups = role === 'gateway' ? previous : [];
      const tier = await Promise.allSettled(
        Array.from({ length: n }, (_, i) => startReplica(o, role, spec, i + 1, ups)),
      );
      for (const r of tier) if (r.status === 'fulfilled') started.push(r.value);
      const failed = tier.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      for (const r of tier) if (r.status === 'fulfilled') upstreamsOf.set(r.value.name, ups);
      previous = tier.map((r) => (r as PromiseFulfilledResult<Started>).value.url);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const entry = started.filter((s) => s.service !== 'prediction');
  const components: Component[] = started.map(({ proc: _p, index: _i, ...c }) => c);
  const processes = new Map(started.map((s) => [s.name, s.proc]));
  const specOf = new Map(services);
  const health = o.deployment.health ?? null;
  const impl = o.deployment.implementation;
  const entryCount = entry.length;
  return {
    topology,
    backend: 'command',
    implementation: impl,
    healthPath: health,
    replicas,
    gateways: topology === 'microservices' ? entry.length : 0,
    entryUrls: entry.map((s) => s.url),
    components,
    processes,
    hops: topology === 'monolith' ? 1 : 2,
    entrySpreading:
      topology === 'monolith' || entryCount > 1
        ? `client-side balancer in the load generator over ${entryCount} ${topology === 'monolith' ? 'monolith replica(s)' : 'gateways'} of ${impl}: ${describePolicy()}${health === null ? ' (no active checks: the deployment has no health path; passive ejection only)' : ` (checks GET ${health})`}`
        : `${impl}'s own gateway over ${replicas} prediction replica(s): its balancing is its own`,
    restart: async (name: string) => {
      const i = started.findIndex((s) => s.name === name);
      if (i < 0) throw new Error(`no component named ${name}`);
      const old = started[i]!;
      old.proc.killNow();
      await old.proc.exited;
      const fresh = await startReplica(
        o,
        old.service,
        specOf.get(old.service)!,
        old.index,
        upstreamsOf.get(name) ?? [],
        Number(new URL(old.url).port),
      );
      started[i] = fresh;
      processes.set(name, fresh.proc);
      components.find((x) => x.name === name)!.pid = fresh.pid;
    },
    sampleResources: async () => sampleComponents(components),
    stop: stopAll,
  };
}

/** Before anything starts: the file loads, describes what is asked, and its programs exist. */
export function checkCommands(d: DeploymentFile, topologies: Topology[]): void {
  for (const t of topologies) {
    const services = servicesOf(d, t);
    if (!services)
      throw new Error(
        `${d.file} describes no ${t} (use --topology ${t === 'monolith' ? 'microservices' : 'monolith'})`,
      );
    for (const [role, spec] of services) {
      const program = spec.command![0]!;
      if (program.includes('{')) continue;
      const found = program.includes('/') ? existsSync(resolve(d.dir, spec.cwd ?? '.', program)) : which(program);
      if (!found) throw new Error(`${d.file}: ${t}.${role}.command.0: ${program} is not on PATH`);
    }
  }
}
