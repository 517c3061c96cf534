import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultivariateLinearRegression } from 'ml-regression';
import t from 'tap';
import {
  LinearModel,
  loadModel,
  ModelLoadError,
  makeSyntheticData,
  parseArtifact,
  readArtifact,
  train,
  validateArtifact,
  writeFileAtomic,
} from '../src/index.js';

t.test('ml-regression training recovers the generating coefficients', async (t) => {
  const a = train({ features: 8, seed: 7, noise: 0.05 });
  const truth = makeSyntheticData(8, 1, 7, 0.05);
  t.equal(a.trainer, 'ml-regression/MultivariateLinearRegression');
  for (let i = 0; i < 8; i++) t.ok(Math.abs(a.weights[i]! - truth.trueWeights[i]!) < 0.01, `weight ${i} within 0.01`);
  t.ok(Math.abs(a.intercept - truth.trueIntercept) < 0.01, 'intercept within 0.01');
  t.ok(a.metrics.holdout.r2 > 0.999, `hold-out R² ${a.metrics.holdout.r2}`);
  t.ok(Math.abs(a.metrics.holdout.rmse - 0.05) < 0.01, `hold-out RMSE ${a.metrics.holdout.rmse} ≈ noise`);
});

t.test('CGLS and ml-regression agree on the same data', async (t) => {
  const viaMl = train({ features: 32, seed: 3, trainer: 'ml-regression' });
  const viaCg = train({ features: 32, seed: 3, trainer: 'cgls' });
  for (let i = 0; i < 32; i++) t.ok(Math.abs(viaMl.weights[i]! - viaCg.weights[i]!) < 1e-6, `weight ${i}`);
  t.ok(Math.abs(viaMl.intercept - viaCg.intercept) < 1e-6);
  t.equal(train({ features: 1024, samples: 3000 }).trainer, 'cgls', 'large F picks CGLS');
});

t.test('predictions equal ml-regression’s own predict', async (t) => {
  const data = makeSyntheticData(5, 300, 11, 0.1);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let r = 0; r < 300; r++) {
    x.push(Array.from(data.x.subarray(r * 5, r * 5 + 5)));
    y.push([data.y[r]!]);
  }
  const mlr = new MultivariateLinearRegression(x.slice(0, 240), y.slice(0, 240), { statistics: false });
  const a = train({ features: 5, seed: 11, samples: 300, noise: 0.1 });
  const model = new LinearModel(a);
  for (const row of x.slice(240)) t.ok(Math.abs(model.predict(row) - mlr.predict(row)[0]!) < 1e-9);
  t.same(
    model.predictBatch(x.slice(240, 250)),
    x.slice(240, 250).map((r) => model.predict(r)),
    'batch equals single',
  );
});

t.test('artifact round trip and every load failure is one clear message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-model-'));
  const a = train({ features: 4 });
  const good = join(dir, 'good.json');
  await writeFileAtomic(good, JSON.stringify(a));
  const loaded = await loadModel(good);
  t.equal(loaded.featureCount, 4);
  t.equal(loaded.version, a.version);

  const text = await readFile(good, 'utf8');
  t.throws(() => parseArtifact(text.slice(0, text.length / 2), 'trunc.json'), {
    name: 'ModelLoadError',
    message: /trunc\.json: not valid JSON/,
  });
  t.throws(() => validateArtifact({ ...a, weights: [1, 2, 3] }), { message: /mismatched: 3 weights for 4 features/ });
  t.throws(() => validateArtifact({ ...a, weights: [1, 2, 3, 4] }), { message: /checksum does not match/ });
  t.throws(() => validateArtifact({ ...a, format: 'other' }), { message: /format is "other"/ });
  t.throws(() => validateArtifact({ ...a, formatVersion: 9 }), { message: /formatVersion 9 is not supported/ });
  t.throws(() => validateArtifact({ ...a, intercept: 'x' }), { message: /"intercept" must be a finite number/ });
  t.throws(() => validateArtifact([]), { message: /not a JSON object/ });
  await t.rejects(readArtifact(join(dir, 'missing.json')), { message: /cannot read model file \(ENOENT\)/ });
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{"format":');
  await t.rejects(loadModel(bad), ModelLoadError);
});

t.test('train rejects impossible options', async (t) => {
  t.throws(() => train({ features: 0 }), RangeError);
  t.throws(() => train({ features: 100, samples: 50 }), { message: /too few/ });
});
