import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * results.json, as a TypeBox schema: the source of truth for what a run writes, what
 * `mlbench report` accepts (a file that does not match is refused with the field named)
 * and the types the report is written against. Objects stay open (extra fields are
 * allowed) so a newer writer's additions do not break an older reader of the same
 * schemaVersion.
 */
export const SCHEMA_VERSION = 1;

const Num = Type.Number();
const Int = Type.Integer({ minimum: 0 });
const Str = Type.String();
const Counts = Type.Record(Type.String(), Type.Number());
const Obj = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: true, ...(description ? { description } : {}) });

export const LatencySummarySchema = Obj({ min: Num, p50: Num, p90: Num, p99: Num, p999: Num, max: Num, mean: Num });

export const HopStatsSchema = Obj({
  requests: Num,
  meanMs: Num,
  p50Ms: Num,
  p99Ms: Num,
  inferenceMeanMs: Type.Optional(Num),
  /**
   * The request histogram's cumulative buckets over the window, [upper bound in ms, count]
   * (the +Inf bucket is `requests`): the service-time distribution `mlbench plan` replays.
   */
  bucketsMs: Type.Optional(Type.Array(Type.Tuple([Num, Num]))),
  /** Replicas scraped at the start but not at the end (killed, scaled away): not in these figures. */
  missing: Type.Optional(Type.Array(Str)),
  /** Replicas whose counters restarted in the window: counted from their restart. */
  resets: Type.Optional(Type.Array(Str)),
});

export const ComponentResourcesSchema = Obj({
  cpuSeconds: Num,
  cpuSecondsPer1kRequests: Num,
  /** CPU used over the window as a share of one core. */
  cpuCores: Num,
  rssMaxMB: Num,
  /** The node it ran on (swarm backend), sampled from that node's own engine. */
  node: Type.Optional(Str),
});

export const TimelineBucketSchema = Obj({
  t: Int,
  sent: Int,
  ok: Int,
  errors: Int,
  dropped: Int,
  p50Ms: Num,
  p99Ms: Num,
  maxMs: Num,
  servedBy: Counts,
});

export const FaultKindSchema = Type.Union([
  Type.Literal('kill'),
  Type.Literal('stop'),
  Type.Literal('pause'),
  Type.Literal('restart'),
  Type.Literal('node-stop'),
]);

export const FaultOutcomeSchema = Obj({
  kind: FaultKindSchema,
  spec: Str,
  target: Str,
  injectedAtS: Num,
  restoredAtS: Type.Union([Num, Type.Null()]),
  requestsLost: Int,
  errorRate10s: Num,
  timeToZeroErrorsS: Num,
  restartedServesAfterS: Type.Union([Num, Type.Null()]),
  p99DuringFaultMs: Num,
  /** node-stop: seconds from the node's loss until the tier ran its replica count again elsewhere. */
  rescheduledAfterS: Type.Optional(Type.Union([Num, Type.Null()])),
  errorsBySecond: Type.Array(Num),
  clientRetries: Int,
});

export const ServiceWindowSchema = Obj({ requests: Num, p99Ms: Type.Union([Num, Type.Null()]), cpuSeconds: Num });

export const RunPhaseSchema = Type.Union([
  Type.Literal('trial'),
  Type.Literal('capacity'),
  Type.Literal('sweep'),
  Type.Literal('fault'),
]);

export const RunResultSchema = Obj({
  phase: RunPhaseSchema,
  /** Whose services: "mlbench" (ours), or the --backend command deployment file's name (absent before: ours). */
  implementation: Type.Optional(Str),
  topology: Str,
  backend: Str,
  driver: Str,
  replicas: Int,
  /** Gateways in front of the prediction replicas (0: monolith; absent in files before it was recorded: 1). */
  gateways: Type.Optional(Int),
  scenario: Str,
  trial: Int,
  features: Int,
  batchSize: Int,
  targetRps: Num,
  achievedRps: Num,
  durationS: Num,
  requests: Int,
  ok: Int,
  /** Answers that were not 200 (rate: of the requests answered). */
  errors: Obj({ count: Int, rate: Num, byStatus: Counts, network: Counts }),
  dropped: Int,
  /**
   * What the SLO judges: errors + dropped arrivals, as a share of the scheduled arrivals.
   * The one meaning of "failed" in results.json, the report and the terminal.
   */
  failed: Obj({ count: Int, rate: Num }),
  /** From the scheduled send time: what a user waits. */
  latencyMs: LatencySummarySchema,
  /** Same run measured from the actual send time (what a closed-loop tool would show). */
  serviceTimeMs: LatencySummarySchema,
  scheduleLagMs: LatencySummarySchema,
  /** HdrHistogram of latency in µs (compressed base64), for merging and re-rendering. */
  latencyHistogram: Str,
  /**
   * Trials: the same latencies as HdrHistograms of consecutive blocks of blockMs (by scheduled
   * send time), which the summary's confidence intervals resample when trials are few.
   */
  latencyBlocks: Type.Optional(Obj({ blockMs: Num, histograms: Type.Array(Str) })),
  hops: Type.Record(Type.String(), HopStatsSchema),
  hopCount: Int,
  entrySpreading: Str,
  resources: Type.Record(Type.String(), ComponentResourcesSchema),
  servedBy: Counts,
  timeline: Type.Array(TimelineBucketSchema),
  /** The load generator's clock at the run's start (epoch ms), to place faults on the timeline. */
  driverStartEpochMs: Num,
  windowLatencyMs: Type.Record(Type.String(), LatencySummarySchema),
  clientRetries: Int,
  fault: Type.Optional(FaultOutcomeSchema),
  valid: Type.Boolean(),
  invalidReasons: Type.Array(Str),
  /** Percentiles this run has enough requests to claim. */
  trustworthyPercentiles: Type.Array(Str),
  /** Schedule lag p99 over the limit: the driver fell behind (saturated, or not given the CPU). */
  driverLate: Type.Boolean(),
  /** Why, when the driver said so itself (k6: CPU, arrivals dropped with VUs to spare, …). */
  driverLateReason: Type.Optional(Str),
  /** --driver-workers N: each worker's share, lag p99 (ms) and CPU; the run is late if any worker was. */
  driverWorkers: Type.Optional(
    Type.Array(
      Obj({
        index: Int,
        scheduled: Int,
        sent: Int,
        dropped: Int,
        lagP99Ms: Num,
        cpuSeconds: Type.Optional(Num),
      }),
    ),
  ),
  sloMet: Type.Boolean(),
  startedAt: Str,
  /** Prometheus's view of the same window, per service (bench --with prometheus). */
  prometheus: Type.Optional(Type.Record(Type.String(), ServiceWindowSchema)),
  /** The sweep model this run measured (sweep probes and common-rate runs). */
  sweepModel: Type.Optional(Str),
});

export const CapacityProbeSchema = Obj({
  rateRps: Num,
  achievedRps: Num,
  p99Ms: Num,
  errorRate: Num,
  dropped: Int,
  pass: Type.Boolean(),
  /** pass or fail on the server's account, or the load generator could not hold the rate. */
  verdict: Type.Optional(Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('load-generator')])),
  reason: Type.Optional(Str),
});

export const CapacityResultSchema = Obj({
  topology: Str,
  implementation: Type.Optional(Str),
  replicas: Int,
  gateways: Type.Optional(Int),
  /** Highest probed rate that met the SLO (0 if none did). */
  rateRps: Num,
  /** Lowest probed rate that failed, bounding the true capacity from above. */
  failedAtRps: Type.Union([Num, Type.Null()]),
  /** What ended the search: the SLO, the load generator's limit (rateRps is a floor), or the search range. */
  limitedBy: Type.Union([Type.Literal('slo'), Type.Literal('load-generator'), Type.Literal('search-range')]),
  loadGeneratorLimitRps: Type.Optional(Type.Union([Num, Type.Null()])),
  /** How each rate was judged from its probes (every probe passed, a majority of 3, …). */
  decisions: Type.Optional(Type.Array(Obj({ rateRps: Num, verdict: Str, rule: Str }))),
  probes: Type.Array(CapacityProbeSchema),
});

export const IntervalMethodSchema = Type.Union([
  Type.Literal('bootstrap-trials'),
  Type.Literal('bootstrap-blocks'),
  Type.Literal('search-bracket'),
]);

/**
 * A confidence interval for a figure's median: a percentile bootstrap over trials (5 or
 * more), or over the trials' latency blocks where trials are few; for capacity, the
 * search's bracket (highest passing rate to lowest failing rate; hi null: no failure found).
 */
export const IntervalSchema = Obj({
  lo: Num,
  hi: Type.Union([Num, Type.Null()]),
  /** Confidence level of a bootstrap interval; null for a search bracket (not a statistical interval). */
  level: Type.Union([Num, Type.Null()]),
  method: IntervalMethodSchema,
  /** Units resampled: trials or blocks. */
  units: Int,
});

export const SpreadSchema = Obj({ median: Num, min: Num, max: Num, n: Int, ci: Type.Optional(IntervalSchema) });

export const SummaryRowSchema = Obj({
  topology: Str,
  /** Whose services (absent: ours). */
  implementation: Type.Optional(Str),
  replicas: Int,
  gateways: Type.Optional(Int),
  hopCount: Int,
  targetRps: Num,
  trials: Int,
  validTrials: Int,
  p50Ms: SpreadSchema,
  p99Ms: SpreadSchema,
  p999Ms: SpreadSchema,
  achievedRps: SpreadSchema,
  errorRate: SpreadSchema,
  /** Errors + dropped arrivals over scheduled arrivals: what the SLO judges. */
  failedRate: Type.Optional(SpreadSchema),
  cpuSecondsPer1k: SpreadSchema,
  /** Per component kind (monolith, gateway, prediction, driver): peak RSS, max over trials and replicas. */
  rssMaxMB: Counts,
  capacityRps: Type.Union([Num, Type.Null()]),
  /** The capacity search's bracket: the true capacity lies in [lo, hi). */
  capacityInterval: Type.Optional(IntervalSchema),
  /** True unless the search ended on the server's SLO: capacity is then at least capacityRps. */
  capacityIsLowerBound: Type.Boolean(),
  capacityLimitedBy: Type.Optional(
    Type.Union([Type.Literal('slo'), Type.Literal('load-generator'), Type.Literal('search-range'), Type.Null()]),
  ),
  gatewayOverheadMs: Type.Union([Num, Type.Null()]),
});

export const MachineSchema = Obj({
  hostname: Str,
  platform: Str,
  cpuModel: Str,
  logicalCpus: Int,
  memoryGB: Num,
  loadAverage: Type.Array(Num),
  node: Str,
  packages: Type.Record(Type.String(), Str),
  gitCommit: Str,
});

const SloSchema = Obj({ p99Ms: Num, errorRate: Num });

export const ConfigSchema = Obj({
  plan: Str,
  backend: Str,
  /** Whose services: "mlbench", or the deployment file's name (--backend command). */
  implementation: Type.Optional(Str),
  driver: Str,
  topologies: Type.Array(Str),
  replicas: Type.Array(Int),
  /** Gateway counts the microservices ran with (--gateways). */
  gateways: Type.Optional(Type.Array(Int)),
  trials: Int,
  interleaving: Str,
  scenario: Obj({ name: Str, executor: Str, arrival: Str }),
  slo: SloSchema,
  capacitySearch: Type.Union([
    Obj({
      startRps: Num,
      maxRps: Num,
      maxProbes: Int,
      /** The search's resolution: a bracket narrower than this is not bisected further (recorded since the first results). */
      tolerance: Type.Optional(Num),
    }),
    Type.Null(),
  ]),
  fault: Type.Union([Obj({ kind: FaultKindSchema, text: Str }), Type.Null()]),
  sweep: Type.Union([
    Obj({ models: Type.Array(Str), commonMs: Num, memoryModel: Type.Union([Str, Type.Null()]) }),
    // Written before model families: a sweep over linear feature counts at a fixed rate.
    Obj({ features: Type.Array(Int), rps: Num, durationMs: Num }),
    Type.Null(),
  ]),
  pinning: Obj({ description: Str, driverCpus: Type.Optional(Str), serverCpus: Type.Optional(Str) }),
  /** Built-in driver processes (--driver-workers); absent for k6 and before the option. */
  driverWorkers: Type.Optional(Int),
  minDurationMs: Num,
  model: Obj({ path: Str, name: Str, version: Str, features: Int }),
  /** API-tier preprocessing on the monolith and the gateway (bench --preprocess). */
  preprocess: Type.Optional(Str),
  /** The microservices' gateway when not ours (bench --gateway nginx). */
  gateway: Type.Optional(Type.Union([Type.Literal('fastify'), Type.Literal('nginx')])),
  /** Its version as the binary reports it ("1.22.1"). */
  gatewayVersion: Type.Optional(Str),
  prometheus: Type.Optional(Obj({ url: Str, dir: Str, config: Str })),
});

const NumOrNull = Type.Union([Num, Type.Null()]);

export const SweepPointSchema = Obj({
  model: Str,
  family: Str,
  size: Str,
  topology: Str,
  inferenceMs: Num,
  sloP99Ms: Num,
  capacityRps: Num,
  capacityLimitedBy: Type.Union([Type.Literal('slo'), Type.Literal('load-generator'), Type.Literal('search-range')]),
  /** The lowest rate the search failed on the server's account: capacity lies in [capacityRps, this). */
  capacityFailedAtRps: Type.Optional(Num),
  serverCores: Num,
  capacityPerCore: Num,
  commonRateRps: NumOrNull,
  /** Whether the common-rate run was valid (long enough, enough requests); its p50 counts only then. */
  commonRateValid: Type.Optional(Type.Boolean()),
  p50Ms: NumOrNull,
  p99Ms: NumOrNull,
  cpuMsPer1k: NumOrNull,
  residentMB: Num,
  totalResidentMB: NumOrNull,
  residentByKind: Counts,
});

export const SweepResultsSchema = Obj({
  points: Type.Array(SweepPointSchema),
  crossover: Obj({
    capacityRatio90AtInferenceMs: NumOrNull,
    p50Overhead10pctAtInferenceMs: NumOrNull,
    ratios: Type.Array(Obj({ model: Str, inferenceMs: Num, capacityRatio: NumOrNull, p50Overhead: NumOrNull })),
    notes: Type.Array(Str),
  }),
  memoryAtEqualRate: Type.Union([
    Obj({
      model: Str,
      rateRps: Num,
      monolithMB: Num,
      microservicesMB: Num,
      byKind: Type.Record(Type.String(), Counts),
      sentence: Str,
    }),
    Type.Null(),
  ]),
});

export const ResultsFileSchema = Obj({
  schemaVersion: Type.Literal(SCHEMA_VERSION),
  runId: Str,
  status: Type.Union([
    Type.Literal('running'),
    Type.Literal('complete'),
    Type.Literal('incomplete'),
    Type.Literal('failed'),
  ]),
  statusReason: Type.Optional(Str),
  startedAt: Str,
  finishedAt: Type.Optional(Str),
  machine: MachineSchema,
  config: ConfigSchema,
  runs: Type.Array(RunResultSchema),
  capacity: Type.Array(CapacityResultSchema),
  summary: Type.Array(SummaryRowSchema),
  /** The model-cost sweep: one point per topology and model, and where the topologies cross. */
  sweep: Type.Optional(SweepResultsSchema),
});

export type LatencySummaryMs = Static<typeof LatencySummarySchema>;
export type HopStats = Static<typeof HopStatsSchema>;
export type ComponentResources = Static<typeof ComponentResourcesSchema>;
export type TimelineBucket = Static<typeof TimelineBucketSchema>;
export type FaultKind = Static<typeof FaultKindSchema>;
export type FaultOutcome = Static<typeof FaultOutcomeSchema>;
export type ServiceWindow = Static<typeof ServiceWindowSchema>;
export type RunPhase = Static<typeof RunPhaseSchema>;
export type RunResult = Static<typeof RunResultSchema>;
export type CapacityProbe = Static<typeof CapacityProbeSchema>;
export type CapacityResult = Static<typeof CapacityResultSchema>;
export type Spread = Static<typeof SpreadSchema>;
export type Interval = Static<typeof IntervalSchema>;
export type IntervalMethod = Static<typeof IntervalMethodSchema>;
export type SummaryRow = Static<typeof SummaryRowSchema>;
export type ResultsConfig = Static<typeof ConfigSchema>;
export type Machine = Static<typeof MachineSchema>;
export type ResultsFile = Static<typeof ResultsFileSchema>;
export type SweepResults = Static<typeof SweepResultsSchema>;
