import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_MODEL_PATH, LinearModel, loadModel, train } from '@mlbench/model';
import { SERVICE_NODE_FLAGS } from '@mlbench/runtime';
import { modelServiceApp } from '@mlbench/serving';
import Fastify from 'fastify';
import { ManagedProcess } from '../backends/child.js';
import { freePort } from '../backends/ports.js';
import { deployProcesses, startService } from '../backends/process.js';
import { waitReady } from '../backends/ready.js';
import type { ServiceName } from '../backends/types.js';
import { which } from '../backends/which.js';
import { DriverProcess } from '../driver/client.js';
import { decodeHistogram, round3, summarizeMs } from '../driver/histogram.js';
import { makeBodies } from '../driver/payload.js';
import type { DriverRunResult } from '../driver/types.js';
import type { Pinning } from '../machine.js';
import { sampleProcess } from '../measure/procfs.js';
import { spread as spreadOf } from '../spread.js';

const run = promisify(execFile);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

export interface PerfOptions {
  rounds: number;
  durationMs: number;
  connections: number;
  /** Requests per memory step (RSS after one and after two steps). */
  memoryRequests: number;
  pinning: Pinning;
  runId: string;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** Over rounds: the median and range (from the one spread()), with every round's value. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export interface TargetCheck {
  name: string;
  measured: string;
  target: string;
  met: boolean;
}

export interface PerfResults {
  runId: string;
  startedAt: string;
  finishedAt?: string;
  settings: Omit<PerfOptions, 'log' | 'signal' | 'pinning'> & { pinning: string };
  throughput: Record<string, Spread>;
  ratios: Record<string, Spread>;
  gatewayHop: {
    rateRps: number;
    directP50Ms: Spread;
    gatewayP50Ms: Spread;
    directP99Ms: Spread;
    gatewayP99Ms: Spread;
    /** The minimal proxy at the same rate: what any hop costs here. */
    proxyP50Ms?: Spread;
    proxyP99Ms?: Spread;
  };
  driver: {
    autocannonMaxRps: Spread;
    autocannonCpuMsPer1k: number;
    builtinSustainedRps: number;
    builtinCpuMsPer1k: number;
    scheduleLagP99Ms: number;
    /**
     * The built-in driver closed loop (same connections, no schedule), paired round by round
     * with autocannon: what its HTTP client path costs apart from open-loop timing.
     */
    builtinClosedRps?: Spread;
    builtinClosedCpuMsPer1k?: number;
    closedOverAutocannon?: Spread;
    probes: { rateRps: number; achievedRps: number; dropped: number; errors: number; lagP99Ms: number; ok: boolean }[];
  };
  inference: {
    features: number;
    singleUsPerRow: number;
    batchUsPerRow: number;
    routeSingleUsPerRow: number;
    routeBatchUsPerRow: number;
  }[];
  memory: Record<string, { idleMB: number; after1MB: number; after2MB: number }>;
  targets: TargetCheck[];
}

export function spread(values: number[]): Spread {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  const rounded = values.map(r);
  const { median, min, max } = spreadOf(rounded);
  return { median, min, max, values: rounded };
}

interface Server {
  name: string;
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const BODY = makeBodies({ features: 8, batchSize: 1, seed: 42 }, 1).bodies[0]!.toString('utf8');

async function startFloor(kind: 'bare' | 'fastify' | 'proxy', o: PerfOptions, upstream?: string): Promise<Server> {
  const cpus = o.pinning.serverCpus;
  const port = await freePort();
  const proc = new ManagedProcess(
    {
      name: `floor-${kind}`,
      command: process.execPath,
      args: [...SERVICE_NODE_FLAGS, here('./floor-servers.js'), kind],
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        MLBENCH_PARENT_PID: String(process.pid),
        MLBENCH_RUN_ID: o.runId,
        ...(upstream ? { UPSTREAM: upstream } : {}),
      },
      cpus,
    },
    cpus ? which('taskset') : undefined,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, url, 15_000);
  return { name: kind, url, pid: proc.pid, stop: () => proc.stop() };
}

async function startOurs(service: ServiceName, name: string, o: PerfOptions, env: Record<string, string> = {}) {
  const s = await startService(service, name, {
    modelPath: DEFAULT_MODEL_PATH,
    runId: o.runId,
    serverCpus: o.pinning.serverCpus,
    extraEnv: env,
  });
  return { name, url: s.url, pid: s.pid, stop: () => s.proc.stop() } satisfies Server;
}

interface ClosedLoop {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  cpuSeconds: number;
}

/** autocannon's closed-loop maximum against url (POST /predict), from its own pinned process. */
async function closedLoop(url: string, o: PerfOptions, opts: { durationMs?: number; amount?: number } = {}) {
  const ac = {
    url: `${url}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections: o.connections,
    pipelining: 1,
    ...(opts.amount ? { amount: opts.amount } : { duration: (opts.durationMs ?? o.durationMs) / 1000 }),
  };
  const taskset = o.pinning.driverCpus ? which('taskset') : undefined;
  const worker = here('./autocannon-worker.js');
  const [cmd, args] = taskset
    ? [taskset, ['-c', o.pinning.driverCpus!, process.execPath, worker, JSON.stringify(ac)]]
    : [process.execPath, [worker, JSON.stringify(ac)]];
  const { stdout } = await run(cmd, args, { timeout: 600_000, maxBuffer: 1 << 20, signal: o.signal });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as ClosedLoop;
  if (r.errors || r.non2xx) throw new Error(`autocannon against ${url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  return r;
}

/** Sides measured round-robin, `rounds` times: A B C A B C … */
async function interleave<T>(o: PerfOptions, sides: Server[], measure: (s: Server) => Promise<T>) {
  const out = new Map<string, T[]>(sides.map((s) => [s.name, []]));
  for (let r = 0; r < o.rounds; r++)
    for (const s of sides) {
      if (o.signal.aborted) throw new Error('interrupted');
      out.get(s.name)!.push(await measure(s));
    }
  return out;
}

const ratioSpread = (a: number[], b: number[]) => spread(a.map((x, i) => x / b[i]!));

function openLoopSpec(url: string, rateRps: number, o: PerfOptions) {
  return {
    label: `perf ${rateRps}/s`,
    targets: [url],
    payload: { features: 8, batchSize: 1, seed: 42 },
    mode: {
      kind: 'open' as const,
      // Same connections as autocannon; arrivals finding them all busy wait on the client (timed from their
      // schedule) instead of being dropped, so "no drops" fails only at real saturation.
      maxInFlight: o.connections * 32,
      schedule: {
        executor: 'constant-arrival-rate' as const,
        ratePerMs: rateRps / 1000,
        durationMs: o.durationMs,
        arrival: 'constant' as const,
        seed: 1,
      },
    },
    connectionsPerTarget: o.connections,
    timeoutMs: 10_000,
    balancer: { kind: 'round-robin' as const },
  };
}

const summary = (r: DriverRunResult) => summarizeMs(decodeHistogram(r.latency));

/** Time per row of `fn` over enough repetitions to dwarf the timer, µs. */
function usPerRow(rows: number, fn: () => void, minMs = 300): number {
  fn();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    fn();
    reps++;
  }
  return ((performance.now() - t0) * 1000) / (reps * rows);
}

async function routeUsPerRow(model: LinearModel, batch: number, minMs = 400): Promise<number> {
  const app = Fastify({ logger: false });
  await app.register(modelServiceApp, { service: 'perf', replicaId: 'perf', model, maxBatch: 1000 });
  await app.ready();
  const bodies = makeBodies({ features: model.featureCount, batchSize: batch, seed: 7 }, 8);
  const inject = (i: number) =>
    app.inject({
      method: 'POST',
      url: bodies.path,
      headers: { 'content-type': 'application/json' },
      payload: bodies.bodies[i % bodies.bodies.length]!,
    });
  for (let i = 0; i < 200; i++) await inject(i);
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    const res = await inject(reps);
    if (res.statusCode !== 200) throw new Error(`route answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
    reps++;
  }
  const us = ((performance.now() - t0) * 1000) / (reps * batch);
  await app.close();
  return us;
}

function rssMB(pid: number | undefined): number {
  return Math.round((sampleProcess(pid)?.rssMB ?? 0) * 10) / 10;
}

/** The whole suite; every server it starts is stopped whatever happens. */
export async function runPerf(o: PerfOptions): Promise<PerfResults> {
  const res: PerfResults = {
    runId: o.runId,
    startedAt: new Date().toISOString(),
    settings: {
      rounds: o.rounds,
      durationMs: o.durationMs,
      connections: o.connections,
      memoryRequests: o.memoryRequests,
      runId: o.runId,
      pinning: o.pinning.description,
    },
    throughput: {},
    ratios: {},
    gatewayHop: {} as PerfResults['gatewayHop'],
    driver: {} as PerfResults['driver'],
    inference: [],
    memory: {},
    targets: [],
  };
  const live: Server[] = [];
  const keep = <T extends Server>(s: T) => {
    live.push(s);
    return s;
  };
  const driver = new DriverProcess({ cpus: o.pinning.driverCpus, runId: o.runId });
  try {
    // 1 + 4: the monolith against the HTTP floors, and against itself without request metrics.
    o.log('throughput: monolith vs minimal Fastify vs bare node:http vs monolith without request metrics');
    const mono = keep(await startOurs('monolith', 'monolith', o));
    const bare = keep(await startFloor('bare', o));
    const fastify = keep(await startFloor('fastify', o));
    const noMetrics = keep(await startOurs('monolith', 'monolith-no-metrics', o, { REQUEST_METRICS: 'off' }));
    const gw = await deployProcesses('microservices', 1, {
      modelPath: DEFAULT_MODEL_PATH,
      runId: o.runId,
      serverCpus: o.pinning.serverCpus,
    });
    const gateway = keep({ name: 'gateway', url: gw.entryUrls[0]!, pid: undefined, stop: () => gw.stop() });
    const predictionUrl = gw.components.find((c) => c.service === 'prediction')!.url;
    // The ceiling any proxy in front of that replica on the same core can reach.
    const proxy = keep(await startFloor('proxy', o, predictionUrl));
    const sides = [mono, fastify, bare, noMetrics, gateway, proxy];
    for (const s of sides) await closedLoop(s.url, o, { durationMs: 1_000 }); // warm: JIT, pools
    const max = await interleave(o, sides, (s) => closedLoop(s.url, o));
    const rps = (name: string) => max.get(name)!.map((r) => r.rps);
    for (const s of sides) res.throughput[s.name] = spread(rps(s.name));
    res.ratios['monolith / fastify'] = ratioSpread(rps('monolith'), rps('fastify'));
    res.ratios['monolith / bare'] = ratioSpread(rps('monolith'), rps('bare'));
    res.ratios['monolith / monolith-no-metrics'] = ratioSpread(rps('monolith'), rps('monolith-no-metrics'));
    res.ratios['gateway / monolith'] = ratioSpread(rps('gateway'), rps('monolith'));
    res.ratios['gateway / proxy'] = ratioSpread(rps('gateway'), rps('proxy'));
    res.ratios['proxy / monolith'] = ratioSpread(rps('proxy'), rps('monolith'));
    for (const s of [fastify, noMetrics]) await s.stop();

    // 2: the hop, at half the gateway's capacity, open loop, against the prediction replica directly and through the gateway.
    const half = Math.round(res.throughput.gateway!.median / 2);
    o.log(`gateway hop: ${half} req/s (half the gateway's closed-loop maximum), direct vs gateway vs minimal proxy`);
    const direct: Server = {
      name: 'direct',
      url: predictionUrl,
      pid: undefined,
      stop: async () => {},
    };
    await driver.run(openLoopSpec(gateway.url, half, { ...o, durationMs: 1_000 }));
    const hop = await interleave(o, [direct, gateway, proxy], async (s) =>
      summary(await driver.run(openLoopSpec(s.url, half, o))),
    );
    const pick = (name: string, k: 'p50' | 'p99') => spread(hop.get(name)!.map((x) => x[k]));
    res.gatewayHop = {
      rateRps: half,
      directP50Ms: pick('direct', 'p50'),
      gatewayP50Ms: pick('gateway', 'p50'),
      directP99Ms: pick('direct', 'p99'),
      gatewayP99Ms: pick('gateway', 'p99'),
      proxyP50Ms: pick('proxy', 'p50'),
      proxyP99Ms: pick('proxy', 'p99'),
    };
    await proxy.stop();
    await gateway.stop();

    // 3: the built-in driver's highest sustainable open-loop rate against the bare server.
    o.log('driver: highest sustainable open-loop rate vs autocannon’s closed-loop maximum (bare server)');
    const acCpu = max.get('bare')!.map((r) => (r.cpuSeconds * 1e6) / r.requests);
    res.driver = {
      autocannonMaxRps: spread(rps('bare')),
      autocannonCpuMsPer1k: spread(acCpu).median,
      builtinSustainedRps: 0,
      builtinCpuMsPer1k: 0,
      scheduleLagP99Ms: 0,
      probes: [],
    };
    /** One driver run and the CPU seconds the driver process spent on it. */
    const runWithCpu = async (spec: Parameters<DriverProcess['run']>[0]) => {
      const before = sampleProcess(driver.pid)?.cpuSeconds ?? 0;
      const r = await driver.run(spec);
      return { r, cpu: (sampleProcess(driver.pid)?.cpuSeconds ?? 0) - before };
    };
    const probe = async (rate: number) => {
      const { r, cpu } = await runWithCpu(openLoopSpec(bare.url, rate, o));
      const achieved = r.completed / (Math.max(r.wallMs, r.scheduledMs) / 1000);
      const lag = summarizeMs(decodeHistogram(r.scheduleLag)).p99;
      // Sustained: on schedule (lag p99 ≤ 1 ms), within 1 % of the rate, nothing dropped or failed.
      const ok = achieved >= 0.99 * rate && r.dropped === 0 && r.ok === r.completed && lag <= 1;
      res.driver.probes.push({
        rateRps: rate,
        achievedRps: Math.round(achieved),
        dropped: r.dropped,
        errors: r.completed - r.ok,
        lagP99Ms: lag,
        ok,
      });
      o.log(
        `  ${rate}/s → ${Math.round(achieved)}/s, dropped ${r.dropped}, lag p99 ${lag} ms: ${ok ? 'sustained' : 'not sustained'}`,
      );
      return { ok, cpuMsPer1k: (cpu * 1e6) / Math.max(1, r.completed), lag };
    };
    // The same driver closed loop, paired with autocannon round by round: splits the gap into
    // the client path (undici dispatch, bodies, histograms) and the open-loop schedule.
    const closedSpec = {
      ...openLoopSpec(bare.url, 1, o),
      label: 'perf closed loop',
      mode: { kind: 'closed' as const, vus: o.connections, durationMs: o.durationMs },
    };
    const closed = { rps: [] as number[], ratio: [] as number[], cpu: [] as number[] };
    for (let i = 0; i < o.rounds; i++) {
      if (o.signal.aborted) throw new Error('interrupted');
      const ac = await closedLoop(bare.url, o);
      const { r, cpu } = await runWithCpu(closedSpec);
      if (r.ok !== r.completed) throw new Error(`built-in driver closed loop: ${r.completed - r.ok} failed requests`);
      const rps = r.completed / (r.wallMs / 1000);
      closed.rps.push(rps);
      closed.ratio.push(rps / ac.rps);
      closed.cpu.push((cpu * 1e6) / Math.max(1, r.completed));
      o.log(`  closed loop: built-in ${Math.round(rps)}/s vs autocannon ${Math.round(ac.rps)}/s`);
    }
    res.driver.builtinClosedRps = spread(closed.rps);
    res.driver.closedOverAutocannon = spread(closed.ratio);
    res.driver.builtinClosedCpuMsPer1k = round3(spread(closed.cpu).median);

    let lo = 0;
    let hi = Math.round(res.driver.autocannonMaxRps.median * 1.3);
    let rate = Math.round(res.driver.autocannonMaxRps.median * 0.8);
    for (let i = 0; i < 7 && hi - lo > hi * 0.04; i++) {
      const p = await probe(rate);
      if (p.ok) {
        lo = rate;
        res.driver.builtinSustainedRps = rate;
        res.driver.builtinCpuMsPer1k = Math.round(p.cpuMsPer1k * 1000) / 1000;
        res.driver.scheduleLagP99Ms = p.lag;
      } else hi = rate;
      rate = Math.round((lo + hi) / 2);
    }
    await bare.stop();
    await mono.stop();

    // 5: inference per row, single vs batch of 64, model only and through the route (in-process).
    o.log('inference: per-row cost, single vs batch of 64, in-process');
    for (const features of [8, 64, 512]) {
      const model =
        features === 8 ? await loadModel(DEFAULT_MODEL_PATH) : new LinearModel(train({ features, trainer: 'cgls' }));
      const rows = makeBodies({ features, batchSize: 64, seed: 3 }, 1).bodies.map(
        (b) => (JSON.parse(b.toString()) as { instances: number[][] }).instances,
      )[0]!;
      res.inference.push({
        features,
        singleUsPerRow: round3(usPerRow(1, () => model.predict(rows[0]!))),
        batchUsPerRow: round3(usPerRow(64, () => model.predictBatch(rows))),
        routeSingleUsPerRow: round3(await routeUsPerRow(model, 1)),
        routeBatchUsPerRow: round3(await routeUsPerRow(model, 64)),
      });
    }

    // 6: RSS idle, after N and after 2N requests, each service on its own.
    o.log(`memory: RSS idle, after ${o.memoryRequests} and ${2 * o.memoryRequests} requests`);
    for (const service of ['monolith', 'prediction', 'gateway'] as const) {
      const dep =
        service === 'gateway'
          ? await deployProcesses('microservices', 1, {
              modelPath: DEFAULT_MODEL_PATH,
              runId: o.runId,
              serverCpus: o.pinning.serverCpus,
            })
          : undefined;
      const s = dep
        ? keep({
            name: 'gateway',
            url: dep.entryUrls[0]!,
            pid: dep.components.find((c) => c.service === 'gateway')!.pid,
            stop: () => dep.stop(),
          })
        : keep(await startOurs(service, service, o));
      await new Promise((r) => setTimeout(r, 1_500));
      const idleMB = rssMB(s.pid);
      await closedLoop(s.url, o, { amount: o.memoryRequests });
      await new Promise((r) => setTimeout(r, 1_000));
      const after1MB = rssMB(s.pid);
      await closedLoop(s.url, o, { amount: o.memoryRequests });
      await new Promise((r) => setTimeout(r, 1_000));
      res.memory[service] = { idleMB, after1MB, after2MB: rssMB(s.pid) };
      o.log(`  ${service}: idle ${idleMB} MB, ${after1MB} MB, ${res.memory[service].after2MB} MB`);
      await s.stop();
    }
  } finally {
    await Promise.allSettled([driver.close(), ...live.map((s) => s.stop())]);
  }
  res.targets = checkTargets(res);
  res.finishedAt = new Date().toISOString();
  return res;
}

/** The targets, each met or not from the medians. */
export function checkTargets(r: PerfResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const add = (name: string, measured: number, target: string, met: boolean, unit = '') =>
    out.push({ name, measured: `${measured}${unit}`, target, met });
  const ratio = (k: string) => r.ratios[k]?.median ?? Number.NaN;
  add(
    'monolith throughput / minimal Fastify',
    ratio('monolith / fastify'),
    '≥ 0.80',
    ratio('monolith / fastify') >= 0.8,
  );
  add('monolith throughput / bare node:http', ratio('monolith / bare'), '≥ 0.70', ratio('monolith / bare') >= 0.7);
  const h = r.gatewayHop;
  if (h.gatewayP50Ms) {
    const p50 = round3((h.gatewayP50Ms.median - h.directP50Ms.median) * 1000);
    const p99 = round3(h.gatewayP99Ms.median - h.directP99Ms.median);
    add(`gateway adds at p50 (${h.rateRps} req/s)`, p50, '≤ 150 µs', p50 <= 150, ' µs');
    add(`gateway adds at p99 (${h.rateRps} req/s)`, p99, '≤ 1 ms', p99 <= 1, ' ms');
  }
  add('gateway max throughput / monolith', ratio('gateway / monolith'), '≥ 0.50', ratio('gateway / monolith') >= 0.5);
  if (r.driver.autocannonMaxRps) {
    const d = round3(r.driver.builtinSustainedRps / r.driver.autocannonMaxRps.median);
    add('built-in driver sustained open-loop / autocannon max', d, '≥ 1.0', d >= 1);
    add(
      'driver schedule lag p99 at that rate',
      r.driver.scheduleLagP99Ms,
      '≤ 1 ms',
      r.driver.scheduleLagP99Ms <= 1,
      ' ms',
    );
  }
  const cost = round3(1 - ratio('monolith / monolith-no-metrics'));
  add('request-metrics cost of max throughput', cost, '≤ 0.05', cost <= 0.05);
  for (const i of r.inference.filter((x) => x.features === 8)) {
    const b = round3(i.routeBatchUsPerRow / i.routeSingleUsPerRow);
    add('batch-64 / single predict per row (route, F=8)', b, '≤ 0.5', b <= 0.5);
  }
  for (const [service, m] of Object.entries(r.memory)) {
    add(`${service} RSS after N requests`, m.after1MB, '≤ 80 MB', m.after1MB <= 80, ' MB');
    const growth = round3(m.after2MB - m.after1MB);
    add(`${service} RSS growth N → 2N`, growth, '≤ 2 MB', growth <= 2, ' MB');
  }
  return out;
}
