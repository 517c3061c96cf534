import type { ResultsFile } from '../../results/index.js';
import type { Block } from '../block.js';
import { fmt } from '../format.js';

/**
 * The report's model-cost sweep: the crossover and memory sentences and a row per model and
 * topology; for results written before model families, their table of linear feature counts.
 */
export function sweepSection(r: ResultsFile): Block[] {
  if (r.sweep) return sweepBlocks(r.sweep);
  const sweep = r.runs.filter((x) => x.phase === 'sweep');
  if (sweep.length === 0) return [];
  return [
    { h: 'Model-cost sweep', level: 3 },
    {
      p: 'As inference and payload grow, the gateway’s constant hop becomes a smaller share of the request; the column “gateway own” shows its absolute cost.',
    },
    {
      table: {
        head: [
          'features',
          'topology',
          'p50 ms',
          'p99 ms',
          'model service ms (mean)',
          'inference ms (mean)',
          'gateway own ms',
        ],
        rows: sweep.map((x) => {
          const model = x.hops.monolith ?? x.hops.prediction;
          const gw = x.hops.gateway && x.hops.prediction ? x.hops.gateway.meanMs - x.hops.prediction.meanMs : null;
          return [
            x.features,
            x.topology,
            fmt(x.latencyMs.p50, 3),
            fmt(x.latencyMs.p99, 3),
            fmt(model?.meanMs, 3),
            fmt(model?.inferenceMeanMs, 4),
            fmt(gw, 3),
          ];
        }),
      },
    },
  ];
}

/** The model-cost sweep: a row per model and topology, and the crossover in one sentence. */
export function sweepBlocks(sw: NonNullable<ResultsFile['sweep']>): Block[] {
  return [
    { h: 'Model-cost sweep', level: 3 },
    { p: crossoverSentence(sw) },
    ...sw.crossover.notes.map((n) => ({ p: `Note: ${n}.` })),
    ...(sw.memoryAtEqualRate ? [{ p: sw.memoryAtEqualRate.sentence }] : []),
    {
      table: {
        head: [
          'model',
          'topology',
          'inference ms',
          'SLO p99 ms',
          'capacity req/s',
          'per core',
          'common rate',
          'p50 ms',
          'p99 ms',
          'CPU ms / 1k',
          'RSS MB (replica / all)',
        ],
        rows: sw.points.map((p) => [
          p.model,
          p.topology,
          fmt(p.inferenceMs, 4),
          p.sloP99Ms,
          `${p.capacityLimitedBy === 'slo' ? '' : '≥ '}${p.capacityRps}`,
          fmt(p.capacityPerCore, 1),
          p.commonRateRps ?? '–',
          fmt(p.p50Ms, 3),
          fmt(p.p99Ms, 3),
          fmt(p.cpuMsPer1k, 1),
          `${fmt(p.residentMB, 0)} / ${fmt(p.totalResidentMB, 0)}`,
        ]),
      },
    },
  ];
}

export function crossoverSentence(sw: NonNullable<ResultsFile['sweep']>): string {
  const c = sw.crossover;
  const cap =
    c.capacityRatio90AtInferenceMs === null
      ? 'microservices never reached 0.9× the monolith’s capacity per core'
      : `microservices reach 0.9× the monolith’s capacity per core from about ${c.capacityRatio90AtInferenceMs} ms of inference`;
  const lat =
    c.p50Overhead10pctAtInferenceMs === null
      ? 'their p50 stayed more than 10 % above the monolith’s'
      : `their p50 is within 10 % of the monolith’s from about ${c.p50Overhead10pctAtInferenceMs} ms`;
  const span = sw.points.map((p) => p.inferenceMs);
  return `Across models from ${fmt(Math.min(...span), 4)} to ${fmt(Math.max(...span), 2)} ms per prediction, ${cap}, and ${lat}.`;
}
