import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { promisify } from 'node:util';
import { describePolicy } from '@mlbench/balancer';
import { SERVICE_NODE_FLAGS } from '@mlbench/runtime';
import { ManagedProcess } from '../sys/child.js';
import { allowedCpus, formatCpuList, parseCpuList } from '../sys/machine.js';
import { freePort } from '../sys/ports.js';
import { sampleComponents } from '../sys/procfs.js';
import { waitReady } from '../sys/ready.js';
import { serviceScript } from '../sys/repo.js';
import { which } from '../sys/which.js';
import { type GatewayKind, NGINX_POLICY, startNginx } from './nginx.js';
import type { Component, Deployment, ServiceName, Topology } from './types.js';

const execFileAsync = promisify(execFile);

export interface ProcessBackendOptions {
  modelPath: string;
  runId: string;
  /** taskset CPU list for every service process, e.g. "1". */
  serverCpus?: string | undefined;
  logLevel?: string;
  startTimeoutMs?: number;
  /** Gateways in front of the prediction replicas (microservices; default 1). */
  gateways?: number | undefined;
  /** Which gateway: ours (fastify, the default) or Debian's nginx (backends/nginx.ts). */
  gateway?: GatewayKind | undefined;
  /** Extra environment for every service (timeouts, limits). */
  extraEnv?: Record<string, string>;
  /**
   * Boot without taking CPU from the serving processes, then serve like its peers. Where the
   * way back is allowed (root, CAP_SYS_NICE), start at this nice level and return to 0 once
   * ready. An ordinary user may lower a priority but never raise it again (setpriority →
   * EACCES), and a replica left at nice 10 would be measured slower than its peers; so there
   * it boots on the allowed CPUs outside serverCpus and is moved onto serverCpus once ready
   * (any user may change the affinity of its own processes). With neither, it boots where
   * it will serve.
   */
  nice?: number;
}

/**
 * A deployable is run as a program, never imported: services/<name>/dist/server.js (the
 * public layout), found from this file's place in the repository.
 */
export function serverScript(service: ServiceName): string {
  return serviceScript(service);
}

interface Started extends Component {
  proc: ManagedProcess;
}

/** Start one service on a fresh loopback port and wait until it reports ready. */
export async function startService(
  service: ServiceName,
  name: string,
  opts: ProcessBackendOptions,
  env: Record<string, string> = {},
  fixedPort?: number,
): Promise<Started> {
  const port = fixedPort ?? (await freePort());
  const boot = bootPlacement(opts);
  const proc = new ManagedProcess(
    {
      name,
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS, serverScript(service)],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        PORT: String(port),
        REPLICA_ID: name,
        LOG_LEVEL: opts.logLevel ?? 'warn',
        MLBENCH_PARENT_PID: String(process.pid),
        MLBENCH_RUN_ID: opts.runId,
        ...(service === 'gateway' ? {} : { MODEL_PATH: opts.modelPath }),
        ...opts.extraEnv,
        ...env,
      },
      cpus: boot.cpus ?? opts.serverCpus,
    },
    opts.serverCpus ? which('taskset') : undefined,
  );
  const url = `http://127.0.0.1:${port}`;
  const nice = proc.pid ? boot.nice : 0;
  if (nice) setPriority(proc.pid!, nice);
  try {
    await waitReady(proc, url, opts.startTimeoutMs ?? 15_000);
    if (nice) setEveryThreadPriority(proc.pid!, 0);
    if (boot.cpus && proc.pid) await repin(proc.pid, opts.serverCpus!);
  } catch (err) {
    await proc.stop(1_000);
    throw err;
  }
  return { name, service, url, pid: proc.pid, proc };
}

/** Where and how a service boots: see ProcessBackendOptions.nice. */
export function bootPlacement(
  opts: Pick<ProcessBackendOptions, 'nice' | 'serverCpus'>,
  mayRaise = mayRaisePriority(),
  allowed = allowedCpus(),
): { nice: number; cpus?: string } {
  if (!opts.nice) return { nice: 0 };
  if (mayRaise) return { nice: opts.nice };
  if (!opts.serverCpus || !which('taskset')) return { nice: 0 };
  const serving = new Set(parseCpuList(opts.serverCpus));
  const elsewhere = allowed.filter((c) => !serving.has(c));
  return elsewhere.length ? { nice: 0, cpus: formatCpuList(elsewhere) } : { nice: 0 };
}

/**
 * setpriority(2) on Linux sets one thread's nice, and threads inherit it when created: the
 * ~11 threads a booting Node starts (libuv pool, V8 platform and GC workers) stayed at nice
 * 10 when only the main thread was set back (found by restart-placement.test.ts).
 */
function setEveryThreadPriority(pid: number, nice: number): void {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    tids = [pid];
  }
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
    } catch (err) {
      // A thread that ended meanwhile is no longer ours to set.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/** Move every thread of a process onto these CPUs (threads started later inherit it). */
async function repin(pid: number, cpus: string): Promise<void> {
  await execFileAsync(which('taskset')!, ['-a', '-p', '-c', cpus, String(pid)]);
}

/**
 * Whether this process may set a child's priority back to normal (nice 0) after lowering
 * it: with CAP_SYS_NICE (root has it), or an RLIMIT_NICE of 20 (nice may go down to
 * 20 − limit). Read from /proc, with no side effect on any process's priority.
 */
export function mayRaisePriority(): boolean {
  try {
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (capEff && (BigInt(`0x${capEff}`) >> 23n) & 1n) return true;
    const limit = /^Max nice priority\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return limit === 'unlimited' || Number(limit) >= 20;
  } catch {
    return process.getuid?.() === 0;
  }
}

export interface ProcessDeployment extends Deployment {
  processes: Map<string, ManagedProcess>;
  /** Kill a component and start it again on the same port (same name, new pid). */
  restart(name: string): Promise<void>;
}

/**
 * Deploy a topology as local processes: N monolith replicas, or N prediction replicas
 * behind one gateway. Everything started is stopped if any part fails to start.
 */
export async function deployProcesses(
  topology: Topology,
  replicas: number,
  opts: ProcessBackendOptions,
): Promise<ProcessDeployment> {
  const started: Started[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.proc.stop()));
  };
  const envOf = new Map<string, Record<string, string>>();
  try {
    const tier: ServiceName = topology === 'monolith' ? 'monolith' : 'prediction';
    const replicaSet = await Promise.allSettled(
      Array.from({ length: replicas }, (_, i) => startService(tier, `${tier}-${i + 1}`, opts)),
    );
    for (const r of replicaSet) if (r.status === 'fulfilled') started.push(r.value);
    const failed = replicaSet.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (topology === 'microservices') {
      // Every gateway balances over every prediction replica; the client spreads over the gateways.
      const gatewayEnv = { PREDICTION_URLS: started.map((s) => s.url).join(',') };
      const names = Array.from({ length: opts.gateways ?? 1 }, (_, i) => `gateway-${i + 1}`);
      for (const n of names) envOf.set(n, gatewayEnv);
      const upstreams = started.map((s) => s.url);
      const gateways = await Promise.allSettled(
        names.map((n) =>
          opts.gateway === 'nginx'
            ? startNginx(n, upstreams, { runId: opts.runId, serverCpus: opts.serverCpus })
            : startService('gateway', n, opts, gatewayEnv),
        ),
      );
      for (const g of gateways) if (g.status === 'fulfilled') started.push(g.value);
      const gatewayFailed = gateways.find((g) => g.status === 'rejected');
      if (gatewayFailed) throw (gatewayFailed as PromiseRejectedResult).reason;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const entry = started.filter((s) => s.service !== 'prediction');
  const components: Component[] = started.map(({ name, service, url, pid, metricsUrl }) => ({
    name,
    service,
    url,
    pid,
    ...(metricsUrl ? { metricsUrl } : {}),
  }));
  const processes = new Map(started.map((s) => [s.name, s.proc]));
  const restart = async (name: string) => {
    const i = started.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`no component named ${name}`);
    const old = started[i]!;
    old.proc.killNow();
    await old.proc.exited;
    // Started at low CPU priority until ready: on cores shared with the serving processes, a
    // booting Node process would otherwise starve them (its ~1 s of start-up CPU is not load).
    const fresh = await startService(
      old.service,
      name,
      { ...opts, nice: 10 },
      envOf.get(name) ?? {},
      Number(new URL(old.url).port),
    );
    started[i] = fresh;
    processes.set(name, fresh.proc);
    const c = components.find((x) => x.name === name)!;
    c.pid = fresh.pid;
  };
  return {
    topology,
    backend: 'process',
    replicas,
    gateways: topology === 'microservices' ? (opts.gateways ?? 1) : 0,
    entryUrls: entry.map((s) => s.url),
    components,
    processes,
    restart,
    hops: topology === 'monolith' ? 1 : 2,
    entrySpreading: entrySpreading(topology, replicas, opts.gateways ?? 1, opts.gateway),
    sampleResources: async () => sampleComponents(components),
    stop: stopAll,
  };
}

/** How load reaches the replicas, named in every report (fairness rule). */
export function entrySpreading(topology: Topology, replicas: number, gateways = 1, gateway?: GatewayKind): string {
  const policy = describePolicy();
  if (topology === 'monolith')
    return `client-side balancer in the load generator over ${replicas} monolith replica(s): ${policy}`;
  const inside = gateway === 'nginx' ? `nginx: ${NGINX_POLICY}` : `same balancer module: ${policy}`;
  return gateways === 1
    ? `one gateway over ${replicas} prediction replica(s), ${inside}`
    : `client-side balancer in the load generator over ${gateways} gateways, each over ${replicas} prediction replica(s), ${inside}`;
}
