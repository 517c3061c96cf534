import type { ResultsFile, SummaryRow } from '../../results/index.js';
import { implementationOf, sameConfig } from '../../results/labels.js';
import type { Block } from '../block.js';
import { fmt } from '../format.js';

/**
 * When one run measured several implementations (`make bench-article`: the article's Flask
 * services and ours, started the same way): the article's claim, then each implementation
 * measured here, side by side, one row each, at one replica per tier.
 */

/** The article's own figures: an average latency per topology, and nothing else. */
export const ARTICLE_CLAIM = { monolithMeanMs: 50, microservicesMeanMs: 70 };

/** A configuration's mean latency: the median (upper, for an even count) of its valid trials' means. */
export function trialMeanMs(r: ResultsFile, row: SummaryRow | undefined): number | null {
  if (!row || row.validTrials === 0) return null;
  const v = r.runs
    .filter((x) => x.phase === 'trial' && x.valid && sameConfig(x, row))
    .map((x) => x.latencyMs.mean)
    .sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)]! : null;
}

const cap = (row: SummaryRow | undefined) =>
  !row || row.capacityRps === null ? '–' : `${row.capacityIsLowerBound ? '≥ ' : ''}${row.capacityRps}`;
const ms = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '–' : fmt(x, d));

export function implementationsSection(r: ResultsFile): Block[] {
  const impls = [...new Set(r.summary.map(implementationOf))];
  if (impls.length < 2) return [];
  const replicas = Math.min(...r.summary.map((s) => s.replicas));
  const pick = (impl: string, t: string) =>
    r.summary.find(
      (s) => implementationOf(s) === impl && s.topology === t && s.replicas === replicas && (s.gateways ?? 1) <= 1,
    );
  // Theirs first (the article's code), ours last: the order of the claim it tests.
  const order = [...impls.filter((i) => i !== 'mlbench'), ...impls.filter((i) => i === 'mlbench')];
  const rows: (string | number)[][] = [
    [
      'the article’s claim (its Flask code, its machine)',
      ARTICLE_CLAIM.monolithMeanMs,
      ARTICLE_CLAIM.microservicesMeanMs,
      `+${ARTICLE_CLAIM.microservicesMeanMs - ARTICLE_CLAIM.monolithMeanMs}`,
      'not given',
      'not given',
      'not given',
      'not given',
      'not given',
      'not given',
      'not given',
      'not given',
    ],
  ];
  const lines: string[] = [];
  for (const impl of order) {
    const m = pick(impl, 'monolith');
    const s = pick(impl, 'microservices');
    const mm = trialMeanMs(r, m);
    const sm = trialMeanMs(r, s);
    rows.push([
      impl === 'mlbench' ? 'ours (mlbench’s Fastify services), measured here' : `${impl}, measured here`,
      ms(mm),
      ms(sm),
      mm !== null && sm !== null ? `${sm >= mm ? '+' : ''}${fmt(sm - mm, 3)}` : '–',
      ms(m?.p50Ms.median),
      ms(s?.p50Ms.median),
      ms(m?.p99Ms.median),
      ms(s?.p99Ms.median),
      cap(m),
      cap(s),
      m ? fmt(m.cpuSecondsPer1k.median * 1000, 0) : '–',
      s ? fmt(s.cpuSecondsPer1k.median * 1000, 0) : '–',
    ]);
    if (s && s.achievedRps.median < 0.95 * s.targetRps)
      lines.push(
        `${impl} microservices did not keep up with ${fmt(s.targetRps, 0)} req/s (achieved ${fmt(s.achievedRps.median, 0)}): its latencies are those of an overloaded service.`,
      );
  }
  return [
    { h: 'The article’s claim, its code, and ours', level: 3 },
    {
      p: `At ${fmt(r.summary[0]?.targetRps ?? 0, 0)} req/s, ${replicas} replica per tier, every implementation on the same cores, the same scenario and the same load generator, their trials alternating in one run. Latency in ms from the scheduled send time; capacity at the SLO (p99 ≤ ${r.config.slo.p99Ms} ms) in req/s; CPU in ms per 1,000 requests over all server processes.`,
    },
    {
      table: {
        head: [
          'source',
          'monolith mean',
          'microservices mean',
          'Δ mean',
          'monolith p50',
          'microservices p50',
          'monolith p99',
          'microservices p99',
          'monolith capacity',
          'microservices capacity',
          'monolith CPU / 1k',
          'microservices CPU / 1k',
        ],
        rows,
      },
    },
    ...(lines.length ? [{ list: lines }] : []),
  ];
}
