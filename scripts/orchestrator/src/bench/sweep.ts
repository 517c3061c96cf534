import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_PATH, trainToFile } from '@mlbench/model';
import type { Static } from '@sinclair/typebox';
import type { Deployment, Topology } from '../backends/types.js';
import type { CapacityFound, CapacitySearchOptions } from '../measure/capacity.js';
import type { RunResult, SweepPointSchema } from '../results/index.js';
import type { Scenario } from '../scenario/scenario.js';
import { round3 } from '../stats/round.js';
import { peakRssByKind } from '../stats/summary.js';

/** One model of the model-cost sweep: a family and its cost knobs. */
export type SweepModel =
  | { family: 'linear'; features: number }
  | { family: 'random-features'; size: string; memoryMb?: number };

/** The short name results.json and the report use for a sweep model. */
export function sweepModelLabel(m: SweepModel): string {
  return m.family === 'linear' ? `linear-f${m.features}` : `rf-${m.size}${m.memoryMb ? `+${m.memoryMb}MB` : ''}`;
}

export function parseSweepModel(text: string): SweepModel {
  const linear = /^linear-f(\d+)$/.exec(text);
  if (linear) return { family: 'linear', features: Number(linear[1]) };
  const rf = /^rf-(xs|s|m|l|xl)(?:\+(\d+)MB)?$/.exec(text);
  if (rf) return { family: 'random-features', size: rf[1]!, ...(rf[2] ? { memoryMb: Number(rf[2]) } : {}) };
  throw new Error(`sweep model must be linear-fN or rf-SIZE[+NMB] (SIZE xs, s, m, l, xl), got "${text}"`);
}

const MODEL_DIR = join(DEFAULT_MODEL_PATH, '..');

/**
 * The artifact for a sweep model: trained on first use and kept beside the default model
 * (artifacts/), so a second sweep starts at once. Training xl takes about a minute here.
 */
export async function sweepModelPath(
  m: SweepModel,
  log: (line: string) => void = () => {},
  /** The model's inputs, when an API tier expands the client's (--preprocess); default: the label's. */
  inputs?: number,
): Promise<string> {
  const label = sweepModelLabel(m);
  const features = inputs ?? (m.family === 'linear' ? m.features : 8);
  const file =
    m.family === 'linear' ? `linear-f${features}.json` : `${label}${features === 8 ? '' : `-in${features}`}.mlb`;
  // linear-f8 is the default model make build trains: the same file, not a copy.
  const path = m.family === 'linear' && features === 8 ? DEFAULT_MODEL_PATH : join(MODEL_DIR, file);
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (!exists) {
    log(`training ${label} for the sweep (kept in ${MODEL_DIR})`);
    log(
      m.family === 'linear'
        ? await trainToFile({ features, out: path, trainer: features > 512 ? 'cgls' : 'auto' })
        : await trainToFile({ family: 'random-features', features, size: m.size, memoryMb: m.memoryMb, out: path }),
    );
  }
  return path;
}

/** What a model-serving replica says of its model on /readyz (see services/serving describeModel). */
export interface ServedModel {
  family: string;
  size: string;
  features: number;
  usPerPrediction: number;
  residentMB: number;
  parameterMB: number;
}

export async function servedModel(d: Deployment): Promise<ServedModel> {
  const c = d.components.find((x) => x.service !== 'gateway');
  if (!c) throw new Error(`${d.topology}: no model-serving component`);
  const res = await fetch(`${c.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { model?: ServedModel };
  if (!res.ok || !body.model || typeof body.model.usPerPrediction !== 'number')
    throw new Error(`${c.name}: /readyz did not describe its model (HTTP ${res.status})`);
  return body.model;
}

/**
 * The SLO a sweep point is judged by: the preset's, or four times the model's own inference
 * time where that is larger. A 20 ms model cannot answer in 25 ms at any useful load; what
 * the sweep compares is the topologies at a given model cost, under the same rule.
 */
export function pointSlo(scenario: Scenario, inferenceMs: number): Scenario['slo'] {
  return { ...scenario.slo, p99Ms: Math.max(scenario.slo.p99Ms, Math.ceil(4 * inferenceMs)) };
}

/**
 * Where a point's capacity search starts: half of what the server cores could do if the
 * model were all the work, within the preset's range (so a 20 ms model starts near 25 req/s,
 * not at 2,000, and a cheap one at the preset's start).
 */
export function pointCapacity<T extends CapacitySearchOptions>(base: T, inferenceMs: number, serverCores: number): T {
  const bound = (serverCores * 1000) / Math.max(inferenceMs, 1e-3);
  const startRps = Math.max(5, Math.min(base.startRps, Math.round(bound / 2)));
  return { ...base, startRps, minRps: Math.min(base.minRps, Math.max(1, Math.floor(startRps / 16))) };
}

/** One topology at one model cost: see SweepPointSchema in results-schema.ts. */
export type SweepPoint = Static<typeof SweepPointSchema>;

/** p50, p99, CPU and memory of a common-rate run, for its point. */
export function commonRateFigures(run: RunResult) {
  const byKind = peakRssByKind(run);
  const total = Object.entries(run.resources)
    .filter(([name]) => name !== 'servers' && name !== 'driver')
    .reduce((n, [, res]) => n + res.rssMaxMB, 0);
  const cpu = run.resources.servers?.cpuSecondsPer1kRequests;
  return {
    commonRateValid: run.valid,
    p50Ms: run.latencyMs.p50,
    p99Ms: run.latencyMs.p99,
    cpuMsPer1k: cpu === undefined ? null : Math.round(cpu * 1000 * 100) / 100,
    totalResidentMB: Math.round(total * 10) / 10,
    residentByKind: byKind,
  };
}

/** A sweep point as results.json records it: its search, and the common-rate run's figures if it ran. */
export function sweepPointOf(p: {
  label: string;
  served: ServedModel;
  topology: Topology;
  inferenceMs: number;
  sloP99Ms: number;
  capacity: CapacityFound;
  serverCores: number;
  /** 0: no common rate (a topology found no passing rate). */
  commonRateRps: number;
  figures: ReturnType<typeof commonRateFigures> | undefined;
}): SweepPoint {
  const { capacity: cap, figures } = p;
  return {
    model: p.label,
    family: p.served.family,
    size: p.served.size,
    topology: p.topology,
    inferenceMs: Number(p.inferenceMs.toPrecision(4)),
    sloP99Ms: p.sloP99Ms,
    capacityRps: cap.rateRps,
    capacityLimitedBy: cap.limitedBy,
    ...(cap.failedAtRps !== null ? { capacityFailedAtRps: cap.failedAtRps } : {}),
    serverCores: p.serverCores,
    capacityPerCore: Math.round((cap.rateRps / p.serverCores) * 10) / 10,
    commonRateRps: p.commonRateRps > 0 ? p.commonRateRps : null,
    commonRateValid: figures?.commonRateValid ?? false,
    p50Ms: figures?.p50Ms ?? null,
    p99Ms: figures?.p99Ms ?? null,
    cpuMsPer1k: figures?.cpuMsPer1k ?? null,
    // From the common-rate run (peak RSS under that load); /readyz's figure at start otherwise.
    residentMB: figures?.residentByKind[p.topology === 'monolith' ? 'monolith' : 'prediction'] ?? p.served.residentMB,
    totalResidentMB: figures?.totalResidentMB ?? null,
    residentByKind: figures?.residentByKind ?? {},
  };
}

export interface Crossover {
  /**
   * The inference time from which microservices' capacity per core is at least 0.9× the
   * monolith's (at that point and every heavier one), interpolated on log(inference ms)
   * between the last point below and the first at or above; null if never reached.
   */
  capacityRatio90AtInferenceMs: number | null;
  /** The inference time from which microservices' p50 is at most 10 % above the monolith's. */
  p50Overhead10pctAtInferenceMs: number | null;
  /** Per model cost, the two ratios the crossover is read from. */
  ratios: { model: string; inferenceMs: number; capacityRatio: number | null; p50Overhead: number | null }[];
  /** Why a value is null or a bound, in words. */
  notes: string[];
}

/** Where a series of (x, y) first reaches y ≥ threshold and stays there, on log x. */
export function crossingFrom(
  points: { x: number; y: number | null }[],
  threshold: number,
): { at: number | null; bracket: [number, number] | null } {
  const s = points.filter((p): p is { x: number; y: number } => p.y !== null).sort((a, b) => a.x - b.x);
  if (s.length === 0) return { at: null, bracket: null };
  let first = s.length;
  while (first > 0 && s[first - 1]!.y >= threshold) first--;
  if (first === s.length) return { at: null, bracket: null };
  if (first === 0) return { at: s[0]!.x, bracket: null };
  const lo = s[first - 1]!;
  const hi = s[first]!;
  const f = (threshold - lo.y) / (hi.y - lo.y);
  const at = Math.exp(Math.log(lo.x) + f * (Math.log(hi.x) - Math.log(lo.x)));
  return { at: Number(at.toPrecision(3)), bracket: [lo.x, hi.x] };
}

export function findCrossover(points: SweepPoint[]): Crossover {
  const models = [...new Set(points.map((p) => p.model))];
  const ratios = models
    .map((model) => {
      const mono = points.find((p) => p.model === model && p.topology === 'monolith');
      const micro = points.find((p) => p.model === model && p.topology === 'microservices');
      const inferenceMs = mono?.inferenceMs ?? micro?.inferenceMs ?? 0;
      const capacityRatio =
        mono && micro && mono.capacityPerCore > 0 ? round3(micro.capacityPerCore / mono.capacityPerCore) : null;
      // Only from runs that can claim their percentiles.
      const p50Overhead =
        mono?.p50Ms &&
        mono.commonRateValid !== false &&
        micro?.commonRateValid !== false &&
        micro?.p50Ms !== null &&
        micro?.p50Ms !== undefined
          ? round3((micro.p50Ms - mono.p50Ms) / mono.p50Ms)
          : null;
      return { model, inferenceMs, capacityRatio, p50Overhead };
    })
    .sort((a, b) => a.inferenceMs - b.inferenceMs);
  const notes: string[] = [];
  // The crossover is read along compute cost: a model with a memory table sits at its compute
  // twin's inference time (rf-m+512MB beside rf-m) and would only add that point's noise.
  const tabled = (m: string) => /\+\d+MB$/.test(m);
  const series = ratios.filter((r) => !tabled(r.model)).length >= 2 ? ratios.filter((r) => !tabled(r.model)) : ratios;
  if (series.length < ratios.length)
    notes.push(
      `read along compute cost: ${ratios
        .filter((r) => tabled(r.model))
        .map((r) => r.model)
        .join(', ')} (a memory table) left out of the crossover, shown in the table`,
    );
  const cap = crossingFrom(
    series.map((r) => ({ x: r.inferenceMs, y: r.capacityRatio })),
    0.9,
  );
  // "At most 10 % above" is "−overhead ≥ −0.1": the same crossing on the negated series.
  const lat = crossingFrom(
    series.map((r) => ({ x: r.inferenceMs, y: r.p50Overhead === null ? null : -r.p50Overhead })),
    -0.1,
  );
  if (cap.at === null) notes.push('microservices never reached 0.9× the monolith’s capacity per core in this sweep');
  else if (!cap.bracket)
    notes.push('capacity ratio ≥ 0.9 already at the cheapest model: the crossover is at or below it');
  if (lat.at === null) notes.push('microservices’ p50 stayed more than 10 % above the monolith’s in this sweep');
  else if (!lat.bracket)
    notes.push('p50 overhead ≤ 10 % already at the cheapest model: the crossover is at or below it');
  const bounds = points.filter((p) => p.capacityLimitedBy !== 'slo');
  if (bounds.length)
    notes.push(
      `capacities that are lower bounds (${bounds.map((p) => `${p.topology} ${p.model}: ${p.capacityLimitedBy}`).join(', ')}) make the ratio at those points uncertain`,
    );
  return { capacityRatio90AtInferenceMs: cap.at, p50Overhead10pctAtInferenceMs: lat.at, ratios, notes };
}

export interface MemoryAtEqualRate {
  model: string;
  rateRps: number;
  monolithMB: number;
  microservicesMB: number;
  byKind: Record<string, Record<string, number>>;
  sentence: string;
}

/** The article's "resource utilisation" claim at one rate: what each topology holds resident. */
export function memoryAtEqualRate(points: SweepPoint[], model: string): MemoryAtEqualRate | null {
  const mono = points.find((p) => p.model === model && p.topology === 'monolith');
  const micro = points.find((p) => p.model === model && p.topology === 'microservices');
  if (!mono?.totalResidentMB || !micro?.totalResidentMB || mono.commonRateRps === null) return null;
  const diff = micro.totalResidentMB - mono.totalResidentMB;
  return {
    model,
    rateRps: mono.commonRateRps,
    monolithMB: mono.totalResidentMB,
    microservicesMB: micro.totalResidentMB,
    byKind: { monolith: mono.residentByKind, microservices: micro.residentByKind },
    sentence:
      `To serve ${mono.commonRateRps} req/s with ${model} (one replica each, ${mono.residentMB} MB per model-serving replica), ` +
      `the monolith held ${mono.totalResidentMB} MB resident and microservices ${micro.totalResidentMB} MB ` +
      `(${diff >= 0 ? `${diff.toFixed(0)} MB more: the gateway, which carries no model` : `${(-diff).toFixed(0)} MB less`}).`,
  };
}
