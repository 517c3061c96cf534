import { join } from 'node:path';
import type { Deployment } from '../backends/types.js';
import type { DriverProgress } from '../driver/types.js';
import { runWindow } from '../prometheus/api.js';
import { DriverMetrics } from '../prometheus/driver-metrics.js';
import { deploymentTargets, type LocalPrometheus, startLocalPrometheus } from '../prometheus/local.js';
import type { ResultsFile, RunResult } from '../results/index.js';
import type { Progress } from './progress.js';

/**
 * A local Prometheus beside the bench (--with prometheus): it scrapes every deployment and
 * the driver's own figures, and after the bench its view of every run's window is recorded
 * beside ours.
 */
export class PrometheusSidecar {
  private constructor(
    private readonly prom: LocalPrometheus,
    private readonly driverMetrics: DriverMetrics,
  ) {}

  static async start(dir: string, results: ResultsFile, progress: Progress): Promise<PrometheusSidecar> {
    const prom = await startLocalPrometheus(join(dir, 'prometheus'));
    const driverMetrics = new DriverMetrics();
    await prom.setTargets('driver', [
      { address: await driverMetrics.listen(), labels: { service: 'driver', replica: 'driver' } },
    ]);
    results.config.prometheus = { url: prom.url, dir: 'prometheus', config: 'compose/prometheus/process.yml' };
    progress.log(`prometheus: ${prom.url} (data in ${prom.dir})`);
    return new PrometheusSidecar(prom, driverMetrics);
  }

  observe(p: DriverProgress): void {
    this.driverMetrics.observe(p);
  }

  deployed(d: Deployment): Promise<void> {
    return this.prom.setTargets(d.topology, deploymentTargets(d));
  }

  undeployed(d: Deployment): Promise<void> {
    return this.prom.removeTargets(d.topology);
  }

  /** Prometheus's own numbers for every run's window, after one more scrape has landed; then stop. */
  async finish(runs: RunResult[], progress: Progress): Promise<void> {
    try {
      await new Promise((r) => setTimeout(r, 2_500));
      for (const r of runs) {
        const start = Date.parse(r.startedAt);
        r.prometheus = await runWindow(this.prom.url, r.topology, start, start + r.durationS * 1000);
      }
    } catch (err) {
      progress.log(`prometheus: could not read run windows: ${(err as Error).message}`);
    }
    await Promise.allSettled([this.prom.stop(), this.driverMetrics.close()]);
  }
}
