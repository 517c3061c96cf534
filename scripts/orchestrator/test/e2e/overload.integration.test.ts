// test: timed (it measures rates and latency on the two cores: it runs alone, never beside another test)
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainToFile } from '@mlbench/model';
import t from 'tap';
import { deployProcesses } from '../../src/backends/process.js';
import { DriverProcess } from '../../src/driver/worker-process.js';
import { driverSpec, measureRun, type RunContext, warmDeployment } from '../../src/measure/run.js';
import { toScenario } from '../../src/scenario/scenario.js';

const pinned = (await import('node:os')).cpus().length >= 2;

// Overload: twice the measured capacity for 6 s, then a quarter of it. Requests are made
// expensive (512 features × 16 rows) so that 2× capacity is within the driver's reach.
for (const topology of ['monolith', 'microservices'] as const) {
  t.test(`${topology}: at twice capacity it sheds with 503, stays bounded, and recovers`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mlbench-overload-'));
    const modelPath = join(dir, 'f512.json');
    await trainToFile({ features: 512, out: modelPath, trainer: 'cgls' });
    const runId = `overload-${topology}-${process.pid}`;
    const dep = await deployProcesses(topology, 1, {
      modelPath,
      runId,
      serverCpus: pinned ? '1' : undefined,
      // Utilization-based shedding is opt-in (see SHED_EVENT_LOOP_UTILIZATION); this is the setting that shows it.
      extraEnv: { SHED_EVENT_LOOP_UTILIZATION: '0.98' },
    });
    const driver = new DriverProcess({ runId, cpus: pinned ? '0' : undefined });
    const ctx: RunContext = { driver, driverName: 'builtin', minDurationMs: 1000 };
    t.teardown(async () => {
      await driver.close();
      await dep.stop();
    });
    const base = { payload: { features: 512, batchSize: 16 }, maxVUs: 4000, requestTimeout: '10s', warmup: '0s' };
    const warm = toScenario('warm', { executor: 'constant-arrival-rate', rate: 100, duration: '3s', ...base });
    await warmDeployment(ctx, dep, warm, 4000);
    const sat = await driver.run({
      ...driverSpec(warm, dep, 'saturate'),
      mode: { kind: 'closed', vus: 8, durationMs: 3000 },
    });
    const capacity = sat.completed / (sat.wallMs / 1000);
    const high = Math.round(2 * capacity);
    const low = Math.round(capacity / 4);
    const s = toScenario('overload', {
      executor: 'ramping-arrival-rate',
      startRate: high,
      stages: [
        { target: high, duration: '6s' },
        { target: low, duration: '100ms' },
        { target: low, duration: '9s' },
      ],
      ...base,
    });
    const run = await measureRun(ctx, dep, s, { phase: 'trial', trial: 1 });
    const shed = run.errors.byStatus['503'] ?? 0;
    t.ok(shed > 0, `${shed} requests shed with 503 at ${high}/s (capacity ≈ ${capacity.toFixed(0)}/s)`);
    const firstShedding = run.timeline.findIndex((b) => b.errors > 0);
    t.ok(
      firstShedding >= 0 && firstShedding <= 2,
      `shedding within about a second (first errors in second ${firstShedding})`,
    );
    const rss = Math.max(
      ...Object.entries(run.resources)
        .filter(([n]) => n !== 'driver' && n !== 'servers')
        .map(([, r]) => r.rssMaxMB),
    );
    t.ok(rss < 400, `memory stays bounded (peak RSS ${rss} MB)`);
    // Load drops at 6.1 s: from 5 s later on, latency is back to normal and nothing fails.
    const recovered = run.timeline.slice(12, 15);
    t.ok(recovered.length === 3, 'the low phase was measured');
    t.ok(
      recovered.every((b) => b.errors === 0 && b.dropped === 0),
      'no failure 5 s after the load drops',
    );
    // Two seconds of the three: one second of this shared machine may hold a stall of its own
    // (a monolith's recovery failed here once on a single second, in a full CI run).
    t.ok(
      recovered.filter((b) => b.p99Ms < 50).length >= 2,
      `p99 back to normal: ${recovered.map((b) => b.p99Ms.toFixed(1)).join(', ')} ms`,
    );
  });
}
