import { setTimeout as sleep } from 'node:timers/promises';
import { RetryBudget, UpstreamPool, type UpstreamState } from '@mlbench/gateway/upstreams';
import { Agent, Pool } from 'undici';
import { encodeHistogram, type Histogram, newHistogram } from './histogram.js';
import { makeBodies } from './payload.js';
import { arrivals } from './schedule.js';
import type { DriverProgress, DriverRunResult, DriverRunSpec, TimelineBucket } from './types.js';

interface Bucket {
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  h: Histogram;
  servedBy: Record<string, number>;
}

/** Failures that mean the request never reached a replica: safe to retry elsewhere. */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'EHOSTUNREACH']);

/**
 * The client-side load balancer in front of monolith replicas: the very module the
 * gateway uses over prediction replicas (health checks, ejection, one retry under a
 * budget), so a replica failure costs both topologies the same protection.
 */
function clientBalancer(targets: string[], healthIntervalMs: number) {
  const healthAgent = new Agent({ connections: 2 });
  const pool = new UpstreamPool({
    dispatcher: healthAgent,
    healthIntervalMs,
    healthTimeoutMs: Math.min(500, healthIntervalMs),
  });
  pool.setOrigins(targets.map((t) => new URL(t).origin));
  pool.start();
  const budget = new RetryBudget();
  return {
    pool,
    budget,
    close: async () => {
      pool.stop();
      await healthAgent.close();
    },
  };
}

interface PostResult {
  status: number;
  servedBy: string | undefined;
  retryAfter: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * One POST through undici's dispatch API: the response body is discarded as it arrives,
 * with no stream object or body promise per request (make perf: the driver's own cost per
 * request is what bounds the rate it can sustain).
 */
function post(pool: Pool, path: string, body: Buffer, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const res: PostResult = { status: 0, servedBy: undefined, retryAfter: false };
    pool.dispatch(
      { path, method: 'POST', headers: JSON_HEADERS, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode, headers) {
          res.status = statusCode;
          const sb = headers['x-served-by'];
          res.servedBy = typeof sb === 'string' ? sb : undefined;
          res.retryAfter = headers['retry-after'] !== undefined;
        },
        onResponseData() {},
        onResponseEnd() {
          resolve(res);
        },
        onResponseError(_controller, err) {
          reject(err);
        },
      },
    );
  });
}

/** Pools are kept across runs so that a measured run starts on warm connections. */
const pools = new Map<string, Pool>();

function poolFor(origin: string, connections: number): Pool {
  const key = `${origin}#${connections}`;
  let p = pools.get(key);
  if (!p) {
    p = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
    pools.set(key, p);
  }
  return p;
}

export async function closePools(): Promise<void> {
  await Promise.all([...pools.values()].map((p) => p.close().catch(() => p.destroy())));
  pools.clear();
}

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; name?: string };
  return e.cause?.code ?? e.code ?? e.name ?? 'ERROR';
}

/**
 * Drive load at the targets. Open loop: every arrival is sent at its scheduled time
 * whatever the server does, latency counts from that scheduled time, and an arrival
 * that finds maxInFlight requests outstanding is dropped (counted, never skipped
 * silently). Closed loop (constant-vus) exists only to show what open loop fixes.
 */
export async function runDriver(
  spec: DriverRunSpec,
  onProgress?: (p: DriverProgress) => void,
  signal?: AbortSignal,
): Promise<DriverRunResult> {
  const { path, bodies } = makeBodies(spec.payload);
  const targetList = spec.targets.map((t) => poolFor(new URL(t).origin, spec.connectionsPerTarget));
  const targets = new Map(spec.targets.map((t, i) => [new URL(t).origin, targetList[i]!]));
  const balancer =
    spec.balancer?.kind === 'client-lb' ? clientBalancer(spec.targets, spec.balancer.healthIntervalMs) : undefined;
  const windows = (spec.windows ?? []).map((x) => ({ ...x, h: newHistogram() }));
  let retries = 0;
  // Like the gateway, the client-side balancer bounds each try, not only the whole request.
  const tryTimeout =
    spec.balancer?.kind === 'client-lb' ? Math.min(spec.timeoutMs, spec.balancer.perTryTimeoutMs) : spec.timeoutMs;
  const latency = newHistogram();
  const serviceTime = newHistogram();
  const lag = newHistogram();
  const errorsByStatus: Record<string, number> = {};
  const networkErrors: Record<string, number> = {};
  const servedBy: Record<string, number> = {};
  const buckets: Bucket[] = [];
  let windowH = newHistogram();
  let scheduled = 0;
  let sent = 0;
  let completed = 0;
  let ok = 0;
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  let rr = 0;
  let lastCompletion = 0;
  const scheduledMs = spec.mode.kind === 'open' ? spec.mode.schedule.durationMs : spec.mode.durationMs;

  const bucket = (ms: number): Bucket => {
    const i = Math.max(0, Math.floor(ms / 1000));
    while (buckets.length <= i)
      buckets.push({ sent: 0, ok: 0, errors: 0, dropped: 0, h: newHistogram(), servedBy: {} });
    return buckets[i]!;
  };

  const start = performance.now() + 5;
  const startedAtEpochMs = Date.now() + 5;
  let drained: (() => void) | undefined;

  const send = (scheduledAt: number): Promise<void> => {
    const body = bodies[sent % bodies.length]!;
    const b = bucket(scheduledAt);
    const w = windows.filter((x) => scheduledAt >= x.fromMs && scheduledAt < x.toMs);
    sent++;
    b.sent++;
    inFlight++;
    balancer?.budget.recordRequest();
    const sentAt = performance.now();
    lag.recordValue(Math.max(0, Math.round((sentAt - start - scheduledAt) * 1000)));
    const finish = (status: string | undefined, served: string | undefined, netErr: string | undefined) => {
      const now = performance.now();
      lastCompletion = now;
      const fromScheduled = Math.max(1, Math.round((now - start - scheduledAt) * 1000));
      latency.recordValue(fromScheduled);
      serviceTime.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
      b.h.recordValue(fromScheduled);
      for (const x of w) x.h.recordValue(fromScheduled);
      windowH.recordValue(fromScheduled);
      completed++;
      inFlight--;
      if (status === '200') {
        ok++;
        b.ok++;
      } else {
        errors++;
        b.errors++;
        if (netErr) networkErrors[netErr] = (networkErrors[netErr] ?? 0) + 1;
        else if (status) errorsByStatus[status] = (errorsByStatus[status] ?? 0) + 1;
      }
      if (served) {
        servedBy[served] = (servedBy[served] ?? 0) + 1;
        b.servedBy[served] = (b.servedBy[served] ?? 0) + 1;
      }
      if (inFlight === 0 && drained) drained();
    };
    const canRetry = (retried: boolean, from: UpstreamState) =>
      !retried && balancer!.pool.usableCount(from) > 0 && balancer!.budget.tryAcquire();
    const attempt = (retried: boolean, avoid?: UpstreamState): Promise<void> => {
      let target: Pool;
      let upstream: UpstreamState | undefined;
      if (balancer) {
        upstream = balancer.pool.pick(avoid);
        if (!upstream) {
          finish(undefined, undefined, 'NO_HEALTHY_TARGET');
          return Promise.resolve();
        }
        target = targets.get(upstream.origin)!;
      } else target = targetList[rr++ % targetList.length]!;
      return post(target, path, body, tryTimeout).then(
        (res) => {
          if (upstream) {
            balancer!.pool.reportStatus(upstream, res.status);
            // Shed by an overloaded replica (it did no work): one retry elsewhere, as the gateway does.
            if (res.status === 503 && res.retryAfter && canRetry(retried, upstream)) {
              retries++;
              return attempt(true, upstream);
            }
          }
          finish(String(res.status), res.servedBy, undefined);
        },
        (err) => {
          const code = errorCode(err);
          if (upstream && CONNECTION_FAILURES.has(code)) {
            balancer!.pool.reportConnectFailure(upstream, code);
            // The same single retry on another replica that the gateway makes.
            if (canRetry(retried, upstream)) {
              retries++;
              return attempt(true, upstream);
            }
          }
          finish(undefined, undefined, code);
        },
      );
    };
    return attempt(false);
  };

  let lastProgress = performance.now();
  let lastCompleted = 0;
  const progressEvery = spec.progressEveryMs ?? 1000;
  const maybeProgress = () => {
    const now = performance.now();
    if (!onProgress || now - lastProgress < progressEvery) return;
    const windowS = (now - lastProgress) / 1000;
    onProgress({
      label: spec.label,
      elapsedMs: now - start,
      totalMs: scheduledMs,
      sent,
      completed,
      errors,
      dropped,
      rate: (completed - lastCompleted) / windowS,
      p99Ms: windowH.totalCount ? windowH.getValueAtPercentile(99) / 1000 : 0,
    });
    windowH = newHistogram();
    lastProgress = now;
    lastCompleted = completed;
  };

  if (spec.mode.kind === 'open') {
    const { maxInFlight } = spec.mode;
    const it = arrivals(spec.mode.schedule);
    let next = it.next();
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now() - start;
        while (!next.done && next.value <= now) {
          scheduled++;
          if (inFlight >= maxInFlight) {
            dropped++;
            bucket(next.value).dropped++;
          } else void send(next.value);
          next = it.next();
        }
        maybeProgress();
        if (next.done || signal?.aborted) return resolve();
        const wait = next.value - (performance.now() - start);
        // Timers have 1 ms granularity and fire late: sleep on a timer until about 1 ms
        // before the next send, then spin with setImmediate so sends leave on time (the lag
        // histogram proves it). Above ~1k req/s the driver therefore spins continuously:
        // its CPU share says nothing about saturation; its schedule lag does.
        if (wait > 1.2) setTimeout(tick, wait - 1.1);
        else setImmediate(tick);
      };
      const firstWait = start - performance.now();
      setTimeout(tick, Math.max(0, firstWait));
    });
  } else {
    const endAt = start + spec.mode.durationMs;
    const vu = async () => {
      while (performance.now() < endAt && !signal?.aborted) {
        const at = Math.max(0, performance.now() - start);
        scheduled++;
        await send(at);
      }
    };
    await sleep(Math.max(0, start - performance.now()));
    const ticker = setInterval(maybeProgress, 100);
    await Promise.all(Array.from({ length: spec.mode.vus }, vu));
    clearInterval(ticker);
  }
  if (inFlight > 0) {
    const progressTimer = setInterval(maybeProgress, 100);
    await new Promise<void>((resolve) => {
      drained = resolve;
    });
    clearInterval(progressTimer);
  }
  const timeline: TimelineBucket[] = buckets.map((b, t) => ({
    t,
    sent: b.sent,
    ok: b.ok,
    errors: b.errors,
    dropped: b.dropped,
    p50Ms: b.h.totalCount ? b.h.getValueAtPercentile(50) / 1000 : 0,
    p99Ms: b.h.totalCount ? b.h.getValueAtPercentile(99) / 1000 : 0,
    maxMs: b.h.totalCount ? b.h.maxValue / 1000 : 0,
    servedBy: b.servedBy,
  }));
  await balancer?.close();
  return {
    label: spec.label,
    startedAtEpochMs,
    scheduledMs,
    wallMs: Math.max(lastCompletion - start, 0),
    scheduled,
    sent,
    completed,
    ok,
    errorsByStatus,
    networkErrors,
    dropped,
    latency: encodeHistogram(latency),
    serviceTime: encodeHistogram(serviceTime),
    scheduleLag: encodeHistogram(lag),
    servedBy,
    timeline,
    retries,
    windows: Object.fromEntries(windows.map((x) => [x.name, encodeHistogram(x.h)])),
  };
}
