import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readResults } from '../../src/results/index.js';
import { runCli } from '../helpers/cli.js';

t.test('a short sweep end to end: points, crossover, report', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'mlbench-sweep-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const r = await runCli([
    'bench',
    '--preset',
    'quick',
    '--no-capacity',
    '--sweep-models',
    'linear-f8,rf-m',
    '--out',
    out,
    '--run-id',
    'sweep',
  ]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /Across models from [\d.]+ to [\d.]+ ms per prediction/);
  const res = await readResults(join(out, 'sweep'));
  const pts = res.sweep!.points;
  t.equal(pts.length, 4, 'two models × two topologies');
  const at = (m: string, topo: string) => pts.find((p) => p.model === m && p.topology === topo)!;
  for (const p of pts) {
    t.ok(p.capacityRps > 0, `${p.model} ${p.topology}: capacity ${p.capacityRps} (${p.capacityLimitedBy})`);
    t.ok(p.commonRateRps! > 0 && p.p50Ms! > 0 && p.cpuMsPer1k! > 0 && p.totalResidentMB! > 0, 'common-rate figures');
    t.equal(p.serverCores, res.config.pinning.serverCpus ? 1 : p.serverCores);
  }
  t.ok(at('rf-m', 'monolith').inferenceMs > 20 * at('linear-f8', 'monolith').inferenceMs, 'rf-m costs more');
  // A capacity the load generator ended is a floor: the cheap model serves at least that
  // much (a CI run here found linear-f8 "≥ 3000" and rf-m 3000 on the SLO), so against a
  // floor "serves less" can only be "serves no more".
  const [cheap, dear] = [at('linear-f8', 'monolith'), at('rf-m', 'monolith')];
  t.ok(
    cheap.capacityLimitedBy === 'slo' ? dear.capacityRps < cheap.capacityRps : dear.capacityRps <= cheap.capacityRps,
    `and serves less: ${dear.capacityRps} (${dear.capacityLimitedBy}) vs ${cheap.capacityRps} (${cheap.capacityLimitedBy})`,
  );
  t.ok(
    at('linear-f8', 'microservices').totalResidentMB! > at('linear-f8', 'monolith').totalResidentMB!,
    'gateway memory',
  );
  t.equal(res.sweep!.crossover.ratios.length, 2);
  for (const k of ['capacityRatio90AtInferenceMs', 'p50Overhead10pctAtInferenceMs'] as const) {
    const v = res.sweep!.crossover[k];
    t.ok(v === null || v > 0, `${k}: ${v}`);
  }
  const html = await readFile(join(out, 'sweep', 'report.html'), 'utf8');
  t.match(html, /Where the extra hop stops mattering/);
  t.match(html, /Model-cost sweep/);
  const again = await runCli(['report', join(out, 'sweep')]);
  t.equal(again.code, 0, again.err);
});
