import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainToFile } from '@mlbench/model';
import t from 'tap';
import { deployProcesses } from '../../src/backends/process.js';

// The API tier's work, the same code in the monolith's API layer and in the gateway: the
// same raw input gives the same prediction through either, and a bad one the same 400.
const SPEC = 'raw=8,maxabs=1000,standardize,expand=projection:64,seed=5';

const dir = await mkdtemp(join(tmpdir(), 'mlbench-pre-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const modelPath = join(dir, 'f64.json');
await trainToFile({ features: 64, out: modelPath });

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

t.test('monolith and gateway preprocess alike; the hop carries the expanded vector', async (t) => {
  const opts = { modelPath, runId: `pre-${process.pid}`, extraEnv: { PREPROCESS: SPEC } };
  const mono = await deployProcesses('monolith', 1, opts);
  t.teardown(() => mono.stop());
  const micro = await deployProcesses('microservices', 1, opts);
  t.teardown(() => micro.stop());
  const raw = [0.3, -1.2, 2, 0.5, 0, 1, -0.3, 0.7];
  const a = await post(`${mono.entryUrls[0]}/predict`, { features: raw });
  const b = await post(`${micro.entryUrls[0]}/predict`, { features: raw });
  t.equal(a.status, 200, JSON.stringify(a.body));
  t.equal(b.status, 200, JSON.stringify(b.body));
  t.equal(b.body.prediction, a.body.prediction, 'the same prediction from the same preprocessing');
  const batch = await post(`${micro.entryUrls[0]}/predict/batch`, { instances: [raw, raw] });
  t.same(batch.body.predictions, [a.body.prediction, a.body.prediction]);

  // The prediction replica takes the model's 64 features, not the client's 8.
  const prediction = micro.components.find((c) => c.service === 'prediction')!;
  const direct = await post(`${prediction.url}/predict`, { features: raw });
  t.equal(direct.status, 400, 'the replica behind the gateway expects expanded vectors');

  for (const [name, url] of [
    ['monolith', mono.entryUrls[0]],
    ['gateway', micro.entryUrls[0]],
  ] as const) {
    const far = await post(`${url}/predict`, { features: [1, 2, 3, 4, 5, 6, 7, 1e9] });
    t.equal(far.status, 400, `${name}: out of range is the client's error`);
    t.equal(far.body.code, 'PREPROCESS_OUT_OF_RANGE');
    const short = await post(`${url}/predict`, { features: [1, 2] });
    t.equal(short.status, 400, `${name}: wrong length`);
    const inBatch = await post(`${url}/predict/batch`, { instances: [raw, [1, 2, 3, 4, 5, 6, 7, Number.MAX_VALUE]] });
    t.equal(inBatch.status, 400);
    t.match(String(inBatch.body.message), /instances\[1\]\[7\]/);
  }
});

t.test('a monolith whose preprocessing does not fit its model stops at start with the reason', async (t) => {
  await t.rejects(
    deployProcesses('monolith', 1, {
      modelPath,
      runId: `pre-bad-${process.pid}`,
      extraEnv: { PREPROCESS: 'raw=8,expand=projection:32' },
      startTimeoutMs: 10_000,
    }),
    /PREPROCESS makes 32 features but the model .* takes 64/,
  );
});

t.test('mlbench bench --preprocess: both topologies pay the same API work, and results say so', async (t) => {
  const { runCli } = await import('../helpers/cli.js');
  const { readResults } = await import('../../src/results/index.js');
  const out = join(dir, 'results');
  const r = await runCli([
    'bench',
    '--preset',
    'quick',
    '--no-capacity',
    '--preprocess',
    SPEC,
    '--out',
    out,
    '--run-id',
    'pre',
  ]);
  t.equal(r.code, 0, r.err);
  const res = await readResults(join(out, 'pre'));
  t.equal(res.config.preprocess, SPEC);
  t.equal(res.config.model.features, 64, 'a model for the expanded features, trained on first use');
  const trials = res.runs.filter((x) => x.phase === 'trial');
  t.same(new Set(trials.map((x) => x.topology)), new Set(['monolith', 'microservices']));
  for (const x of trials) t.equal(x.errors.count, 0, `${x.topology}: no errors`);
  const bad = await runCli(['bench', '--preprocess', 'raw=8,expand=cubic']);
  t.equal(bad.code, 2, 'a usage error: exit 2');
  t.match(bad.err, /^mlbench: .*expand must be none, pairwise or projection:N/);
});
