import type { Deployment } from '../backends/types.js';
import { type CapacityFound, probeAt, searchCapacity as search } from '../measure/capacity.js';
import { MIN_VALID_REQUESTS, measureRun, warmDeployment } from '../measure/run.js';
import { atRate, type Scenario } from '../scenario/scenario.js';
import type { DeploymentGroup } from './program.js';
import type { BenchSession } from './session.js';
import {
  commonRateFigures,
  findCrossover,
  memoryAtEqualRate,
  pointCapacity,
  pointSlo,
  type ServedModel,
  servedModel,
  sweepModelLabel,
  sweepPointOf,
} from './sweep.js';

/** A sweep point's deployment: what its replica serves, and the load it is judged under. */
interface PointState {
  label: string;
  served: ServedModel;
  scenario: Scenario;
  /** The model's cost at this point, the same for both topologies (set before the searches). */
  inferenceMs?: number;
  capacity?: CapacityFound;
}

/**
 * The model-cost sweep's steps: per model, each topology's capacity at the point's SLO, then
 * both at a common rate (half the lower capacity), written into results' `sweep` as they land.
 */
export class SweepPoints {
  private readonly points = new Map<Deployment, PointState>();

  constructor(private readonly s: BenchSession) {
    // A sweep point reads its replica's own inference time first: it sets the point's SLO and
    // the warm-up rate (a 20 ms model warmed at 500 req/s would only queue).
    s.warmLoadFor = async (d, g, warmMs) => {
      const served = await servedModel(d);
      const inferenceMs = served.usPerPrediction / 1000;
      const scenario = { ...g.scenario, slo: pointSlo(g.scenario, inferenceMs) };
      this.points.set(d, { label: sweepModelLabel(g.model!), served, scenario });
      const rate = Math.max(5, Math.min(500, (0.3 * (s.ctx.serverCores ?? 1) * 1000) / Math.max(inferenceMs, 1e-3)));
      return atRate(scenario, rate, warmMs, 0);
    };
  }

  forget(d: Deployment): void {
    this.points.delete(d);
  }

  /** A sweep point's capacity search, at the point's SLO, started near what the model allows. */
  async searchCapacity(d: Deployment, g: DeploymentGroup): Promise<void> {
    const { s } = this;
    const pt = this.points.get(d)!;
    const sw = s.program.sweep!;
    // One model cost, one SLO for both topologies: the lower of their replicas' own timings
    // (the same model timed 22.6 and 31.9 ms in one run here, and gave SLOs of 91 and 128 ms).
    const peers = [...this.points.values()].filter((p) => p.label === pt.label);
    pt.inferenceMs = Math.min(...peers.map((p) => p.served.usPerPrediction)) / 1000;
    pt.scenario = { ...g.scenario, slo: pointSlo(g.scenario, pt.inferenceMs) };
    const c = pointCapacity(sw.capacity, pt.inferenceMs, s.ctx.serverCores ?? 1);
    await s.guarded(() => warmDeployment(s.ctx, d, atRate(pt.scenario, c.startRps / 2, 2000, 0), 2000));
    pt.capacity = await search(async (rate) => {
      const { probe, run } = await s.guarded(() => probeAt(s.ctx, d, pt.scenario, rate, c));
      run.sweepModel = pt.label;
      await s.record(run);
      return probe;
    }, c);
    s.o.progress.log(
      `  sweep ${pt.label} ${d.topology}: capacity ${pt.capacity.limitedBy === 'slo' ? '' : '≥ '}${pt.capacity.rateRps} req/s at p99 ≤ ${pt.scenario.slo.p99Ms} ms (inference ${pt.inferenceMs.toFixed(4)} ms)`,
    );
  }

  /** Both topologies at half the lower of their capacities: p50, p99, CPU and memory. */
  async atCommonRate(searched: Deployment, g: DeploymentGroup, deployments: Map<string, Deployment>): Promise<void> {
    const { s } = this;
    const pt = this.points.get(searched)!;
    const sw = s.program.sweep!;
    const peers = [...this.points.entries()]
      .filter(([x, p]) => p.label === pt.label && s.live.has(x))
      .map(([, p]) => p);
    const lowest = Math.min(...peers.map((p) => p.capacity?.rateRps ?? 0));
    const rate = lowest > 0 ? Math.max(1, Math.floor(lowest / 2)) : 0;
    let figures: ReturnType<typeof commonRateFigures> | undefined;
    let d = searched;
    if (rate > 0) {
      // Fresh processes: the search's overload probes leave heaps that Node keeps (a gateway
      // held 190 MB after them, against about 80 MB serving the same rate fresh), and this
      // run is what "memory to serve the same rate" is read from.
      await s.undeploy(searched);
      // The run's own 2 s warm-up at the common rate follows this one.
      d = await s.deploy(searched.topology, g, 2000);
      deployments.set(d.topology, d);
      this.points.set(d, {
        ...this.points.get(d)!,
        capacity: pt.capacity,
        inferenceMs: pt.inferenceMs,
        scenario: pt.scenario,
      });
      this.points.delete(searched);
      // Long enough for a p99 at any rate (80 req/s for 5 s was 400 requests: invalid).
      const ms = Math.max(sw.commonMs, Math.ceil(((MIN_VALID_REQUESTS * 1.2) / rate) * 1000));
      const run = await s.guarded(() =>
        measureRun(s.ctx, d, atRate(pt.scenario, rate, ms, Math.min(g.scenario.warmupMs, 2000)), {
          phase: 'sweep',
          trial: 1,
        }),
      );
      run.sweepModel = pt.label;
      await s.record(run);
      figures = commonRateFigures(run);
    }
    const results = s.results;
    results.sweep ??= { points: [], crossover: findCrossover([]), memoryAtEqualRate: null };
    results.sweep.points.push(
      sweepPointOf({
        label: pt.label,
        served: pt.served,
        topology: d.topology,
        inferenceMs: pt.inferenceMs!,
        sloP99Ms: pt.scenario.slo.p99Ms,
        capacity: pt.capacity!,
        serverCores: s.ctx.serverCores ?? 1,
        commonRateRps: rate,
        figures,
      }),
    );
    results.sweep.crossover = findCrossover(results.sweep.points);
    if (sw.memoryModel) results.sweep.memoryAtEqualRate = memoryAtEqualRate(results.sweep.points, sw.memoryModel);
    await s.save();
  }
}
