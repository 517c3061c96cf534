import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@mlbench/model';
import type { ResultsFile } from '../results/index.js';
import { configLabel } from '../results/labels.js';
import type { Comparison } from './compare.js';

/** Exports for CI systems: JUnit XML (one case per SLO and target, and per regression check), CSV. */

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Case {
  classname: string;
  name: string;
  failure?: string;
  skipped?: string;
}

/** B's SLO per configuration and target (per run of B), and each compared figure as "no regression vs A". */
export function junitXml(c: Comparison, bRuns: ResultsFile[]): string {
  const cases: Case[] = [];
  for (const b of bRuns)
    for (const row of b.summary) {
      const slo = b.config.slo;
      const cls = `mlbench.${configLabel(row)}${bRuns.length > 1 ? `.${b.runId}` : ''}`;
      const at = `@ ${row.targetRps} req/s`;
      if (row.validTrials === 0) {
        cases.push({ classname: cls, name: `p99 ≤ ${slo.p99Ms} ms ${at}`, failure: 'no valid trial' });
        continue;
      }
      const p99 = row.p99Ms.median;
      cases.push({
        classname: cls,
        name: `p99 ≤ ${slo.p99Ms} ms ${at}`,
        ...(p99 > slo.p99Ms ? { failure: `p99 ${p99} ms > ${slo.p99Ms} ms` } : {}),
      });
      const failed = row.failedRate?.median ?? row.errorRate.median;
      cases.push({
        classname: cls,
        name: `failed ≤ ${slo.errorRate * 100} % ${at}`,
        ...(failed > slo.errorRate
          ? { failure: `failed ${(failed * 100).toFixed(3)} % > ${slo.errorRate * 100} %` }
          : {}),
      });
    }
  for (const r of c.rows)
    cases.push({
      classname: `mlbench.${r.config}`,
      name: `${r.label} no regression vs ${c.a.name} @ ${r.targetRps} req/s`,
      ...(r.verdict === 'regressed'
        ? { failure: `${r.label} ${r.a} → ${r.b} ${r.unit} (${r.changePct} %): ${r.why}; ${r.test}` }
        : r.verdict === 'not tested'
          ? { skipped: r.why }
          : {}),
    });
  const failures = cases.filter((x) => x.failure).length;
  const skipped = cases.filter((x) => x.skipped).length;
  const body = cases
    .map((x) => {
      const inner = x.failure
        ? `<failure message="${xml(x.failure)}"/>`
        : x.skipped
          ? `<skipped message="${xml(x.skipped)}"/>`
          : '';
      return `    <testcase classname="${xml(x.classname)}" name="${xml(x.name)}">${inner}</testcase>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="mlbench" tests="${cases.length}" failures="${failures}" skipped="${skipped}">\n  <testsuite name="mlbench compare ${xml(c.a.name)} vs ${xml(c.b.name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}">\n${body}\n  </testsuite>\n</testsuites>\n`;
}

/** RFC 4180 fields: quoted when they hold a comma, quote or newline. */
const field = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
export const csv = (head: string[], rows: unknown[][]) =>
  `${[head, ...rows].map((r) => r.map(field).join(',')).join('\n')}\n`;

export function runsCsv(sides: [string, ResultsFile][]): string {
  const head = [
    'side',
    'runId',
    'phase',
    'topology',
    'replicas',
    'gateways',
    'trial',
    'targetRps',
    'achievedRps',
    'p50Ms',
    'p99Ms',
    'p999Ms',
    'maxMs',
    'errors',
    'dropped',
    'failedRate',
    'serverCpuMsPer1k',
    'valid',
    'sloMet',
  ];
  const rows = sides.flatMap(([side, r]) =>
    r.runs.map((x) => [
      side,
      r.runId,
      x.phase,
      x.topology,
      x.replicas,
      x.gateways ?? (x.topology === 'monolith' ? 0 : 1),
      x.trial,
      x.targetRps,
      x.achievedRps,
      x.latencyMs.p50,
      x.latencyMs.p99,
      x.latencyMs.p999,
      x.latencyMs.max,
      x.errors.count,
      x.dropped,
      x.failed.rate,
      Number(((x.resources.servers?.cpuSecondsPer1kRequests ?? 0) * 1000).toFixed(3)),
      x.valid,
      x.sloMet,
    ]),
  );
  return csv(head, rows);
}

export function probesCsv(sides: [string, ResultsFile][]): string {
  const head = [
    'side',
    'runId',
    'topology',
    'replicas',
    'gateways',
    'rateRps',
    'achievedRps',
    'p99Ms',
    'errorRate',
    'dropped',
    'pass',
    'verdict',
  ];
  const rows = sides.flatMap(([side, r]) =>
    r.capacity.flatMap((c) =>
      c.probes.map((p) => [
        side,
        r.runId,
        c.topology,
        c.replicas,
        c.gateways ?? (c.topology === 'monolith' ? 0 : 1),
        p.rateRps,
        p.achievedRps,
        p.p99Ms,
        p.errorRate,
        p.dropped,
        p.pass,
        p.verdict ?? (p.pass ? 'pass' : 'fail'),
      ]),
    ),
  );
  return csv(head, rows);
}

export function comparisonCsv(c: Comparison): string {
  const head = [
    'config',
    'targetRps',
    'metric',
    'unit',
    'a',
    'b',
    'changePct',
    'ciLoPct',
    'ciHiPct',
    'verdict',
    'why',
    'test',
  ];
  return csv(
    head,
    c.rows.map((r) => [
      r.config,
      r.targetRps,
      r.metric,
      r.unit,
      r.a,
      r.b,
      r.changePct,
      r.changeCi?.lo,
      r.changeCi?.hi,
      r.verdict,
      r.why,
      r.test,
    ]),
  );
}

/** runs.csv, probes.csv and compare.csv in dir (created); returns the paths. */
export async function writeCsv(dir: string, c: Comparison, a: ResultsFile[], b: ResultsFile[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const sides: [string, ResultsFile][] = [
    ...a.map((r): [string, ResultsFile] => ['A', r]),
    ...b.map((r): [string, ResultsFile] => ['B', r]),
  ];
  const files: [string, string][] = [
    ['runs.csv', runsCsv(sides)],
    ['probes.csv', probesCsv(sides)],
    ['compare.csv', comparisonCsv(c)],
  ];
  for (const [name, text] of files) await writeFileAtomic(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
