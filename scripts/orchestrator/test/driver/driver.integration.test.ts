// test: timed (it measures rates and latency on the two cores: it runs alone, never beside another test)
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { DriverPool } from '../../src/driver/pool.js';
import type { DriverRunSpec } from '../../src/driver/types.js';
import { DriverProcess } from '../../src/driver/worker-process.js';
import { probeAt, searchCapacity } from '../../src/measure/capacity.js';
import type { RunContext } from '../../src/measure/run.js';
import { toScenario } from '../../src/scenario/scenario.js';
import { decodeHistogram, summarizeMs } from '../../src/stats/histogram.js';
import { startFixtureServer } from '../helpers/servers.js';

// On a multi-core machine keep the server and the load generator on different cores.
const pinned = (await import('node:os')).cpus().length >= 2;
const serverCpu = pinned ? '1' : undefined;
const driverCpu = pinned ? '0' : undefined;

const open = (
  url: string,
  ratePerS: number,
  durationMs: number,
  extra: Partial<DriverRunSpec> = {},
): DriverRunSpec => ({
  label: 'test',
  targets: [url],
  payload: { features: 8, batchSize: 1, seed: 1 },
  mode: {
    kind: 'open',
    maxInFlight: 1000,
    schedule: {
      executor: 'constant-arrival-rate',
      ratePerMs: ratePerS / 1000,
      durationMs,
      arrival: 'constant',
      seed: 1,
    },
  },
  connectionsPerTarget: 64,
  timeoutMs: 10_000,
  ...extra,
});

/** One driver process, or a pool of them (--driver-workers), on the driver's CPU. */
const newDriver = (workers: number, runId: string) =>
  workers === 1
    ? new DriverProcess({ runId, cpus: driverCpu })
    : new DriverPool({ workers, runId, cpus: driverCpu ? [driverCpu] : undefined });

for (const workers of [1, 2])
  t.test(
    `rate accuracy: achieved rate within 2% of the target (${workers} driver worker${workers > 1 ? 's' : ''})`,
    async (t) => {
      const server = await startFixtureServer(0, serverCpu);
      const driver = newDriver(workers, 'test-rate');
      t.teardown(async () => {
        await driver.close();
        await server.proc.stop();
      });
      await driver.run(open(server.url, 200, 1000)); // warm-up
      for (const rate of [300, 1500]) {
        const r = await driver.run(open(server.url, rate, 4000));
        const achieved = r.completed / (r.scheduledMs / 1000);
        t.equal(r.scheduled, rate * 4, `${rate}/s: every scheduled arrival accounted for`);
        t.equal(r.dropped, 0);
        t.equal(r.ok, r.completed);
        t.ok(Math.abs(achieved - rate) / rate <= 0.02, `${rate}/s: achieved ${achieved.toFixed(1)}/s`);
        t.ok(Math.abs(r.wallMs - 4000) < 4000 * 0.02, `wall ${r.wallMs.toFixed(0)} ms ≈ scheduled 4000 ms`);
        const lag = summarizeMs(decodeHistogram(r.scheduleLag));
        // Workers that share the driver's one core (this 2-CPU machine) both spin between sends
        // and take turns on it: lag p50 0.98–1.31 ms at 1,500/s was measured so. The rate still
        // holds; the lag is what the run reports (per worker), and the bench judges its p99.
        const ownCores = workers === 1 || !driverCpu;
        t.ok(lag.p50 < (ownCores ? 1 : 5), `schedule lag p50 ${lag.p50} ms`);
        if (workers > 1) {
          t.same(
            r.workers?.map((w) => w.scheduled),
            [rate * 2, rate * 2],
            'each worker took an equal, disjoint share of the one schedule',
          );
          t.equal(decodeHistogram(r.latency).totalCount, r.completed, 'the merged histogram holds every request');
          t.equal(
            r.timeline.reduce((a, b) => a + b.sent, 0),
            r.sent,
            'the merged timeline too',
          );
          t.ok(
            r.workers?.every((w) => w.lagP99Ms >= 0 && (w.cpuSeconds ?? 0) > 0),
            'lag and CPU kept per worker',
          );
        }
      }
    },
  );

for (const workers of [1, 2])
  t.test(
    `no coordinated omission: a 1 s server stall shows in open-loop percentiles (${workers} driver worker${workers > 1 ? 's' : ''})`,
    async (t) => {
      const server = await startFixtureServer(0, serverCpu);
      const driver = newDriver(workers, 'test-co');
      t.teardown(async () => {
        server.proc.signal('SIGCONT');
        await driver.close();
        await server.proc.stop();
      });
      await driver.run(open(server.url, 200, 1000));
      const stall = async () => {
        await sleep(1500);
        server.proc.signal('SIGSTOP');
        await sleep(1000);
        server.proc.signal('SIGCONT');
      };
      const [openLoop] = await Promise.all([driver.run(open(server.url, 200, 4000)), stall()]);
      const lat = summarizeMs(decodeHistogram(openLoop.latency));
      t.equal(openLoop.dropped, 0, 'every arrival was sent on schedule, none skipped');
      t.ok(lat.max >= 950, `max ${lat.max} ms covers the 1 s stall`);
      t.ok(lat.p99 >= 800, `p99 ${lat.p99} ms reflects the backlog (≈200 of 800 requests waited)`);
      t.ok(lat.p90 >= 300, `p90 ${lat.p90} ms too`);
      const stalled = openLoop.timeline.filter((b) => b.p99Ms > 500).length;
      t.ok(stalled >= 1, 'the timeline shows the stall');

      // The same stall under a closed loop: 4 virtual users simply wait, and the thousands
      // of fast requests around them hide it below p99.
      const closedSpec: DriverRunSpec = {
        ...open(server.url, 1, 1),
        mode: { kind: 'closed', vus: 4, durationMs: 4000 },
      };
      const [closed] = await Promise.all([driver.run(closedSpec), stall()]);
      const cl = summarizeMs(decodeHistogram(closed.latency));
      t.ok(cl.max >= 950, `closed loop also sees max ${cl.max} ms`);
      t.ok(cl.p99 < 100, `but its p99 is ${cl.p99} ms: coordinated omission`);
      t.ok(closed.completed > openLoop.completed, 'closed loop sent more requests, mostly outside the stall');
    },
  );

t.test('capacity search converges within 10% of a known capacity', async (t) => {
  const serviceMs = 4;
  const server = await startFixtureServer(serviceMs, serverCpu);
  const driver = new DriverProcess({ runId: 'test-capacity', cpus: driverCpu });
  t.teardown(async () => {
    await driver.close();
    await server.proc.stop();
  });
  // The server's true maximum throughput, measured by saturating it (closed loop, 8 users).
  await driver.run({ ...open(server.url, 1, 1), mode: { kind: 'closed', vus: 8, durationMs: 1000 } });
  const sat = await driver.run({ ...open(server.url, 1, 1), mode: { kind: 'closed', vus: 8, durationMs: 3000 } });
  const trueCapacity = sat.completed / (sat.wallMs / 1000);
  t.ok(
    trueCapacity > 150 && trueCapacity < 1000 / serviceMs + 5,
    `true capacity ${trueCapacity.toFixed(0)}/s ≈ 1000/${serviceMs}`,
  );

  const ctx: RunContext = { driver, driverName: 'builtin', minDurationMs: 1000 };
  const scenario = toScenario('capacity-test', {
    executor: 'constant-arrival-rate',
    rate: 100,
    duration: '3s',
    maxVUs: 2000,
    warmup: '500ms',
    slo: { p99Ms: 25, errorRate: 0.001 },
  });
  const found = await searchCapacity(
    async (rate) => (await probeAt(ctx, server.deployment, scenario, rate, { probeMs: 3000, warmupMs: 500 })).probe,
    // As in make bench: a failing probe is repeated once, so one stall of the shared core
    // (a 25 ms blip fails a 25 ms p99 SLO at any rate) does not cap the search.
    { startRps: 100, minRps: 10, maxRps: 5000, maxProbes: 12, tolerance: 0.04, confirmFailures: true },
  );
  for (const p of found.probes) t.comment(`${p.rateRps}: ${p.verdict} ${p.reason ?? ''} p99 ${p.p99Ms}`);
  const error = Math.abs(found.rateRps - trueCapacity) / trueCapacity;
  t.ok(
    error <= 0.1,
    `found ${found.rateRps}/s vs true ${trueCapacity.toFixed(0)}/s (${(error * 100).toFixed(1)}% off) in ${found.probes.length} probes`,
  );
  t.ok(found.failedAtRps !== null && found.failedAtRps > found.rateRps, 'bracketed by a failing probe');
});

t.test('an interrupt between two runs: the run in flight ends, the next one fails at once', async (t) => {
  const server = await startFixtureServer(0, serverCpu);
  const driver = new DriverProcess({ runId: 'test-close', cpus: driverCpu });
  t.teardown(async () => {
    await driver.close();
    await server.proc.stop();
  });
  // What Ctrl-C does to a bench mid-warm-up: close the driver while a run is in flight.
  const inFlight = driver.run(open(server.url, 100, 5000)).then(
    (r) => `ended with ${r.completed} of ${r.scheduled} scheduled`,
    (err: Error) => `failed: ${err.message}`,
  );
  await sleep(500);
  await driver.close();
  t.match(await inFlight, /^(ended|failed)/, 'the run in flight settles');
  // Before the fix this promise never settled, and with nothing else pending the bench
  // process exited with code 0, leaving its containers behind.
  const settled = await Promise.race([
    driver.run(open(server.url, 100, 1000)).then(
      () => 'resolved',
      (err: Error) => err.message,
    ),
    sleep(3_000).then(() => 'still pending after 3 s'),
  ]);
  t.equal(settled, 'driver closed', 'a run asked for after close() is refused at once');
});
