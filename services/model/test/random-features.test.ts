import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  LinearModel,
  loadModel,
  ModelLoadError,
  measureInferenceUs,
  RandomFeaturesModel,
  train,
  trainRandomFeatures,
  trainToFile,
} from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'mlbench-rf-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test('every family trains at a small size and generalises to its hold-out rows', async (t) => {
  const linear = train({ features: 8 });
  t.ok(linear.metrics.holdout.r2 > 0.99, `linear on linear data: R² ${linear.metrics.holdout.r2}`);
  // The nonlinear target (sin and pairwise products) is out of a linear model's reach; the
  // fitted random features learn it, more as their width grows.
  const xs = trainRandomFeatures({ size: 'xs' });
  const m = trainRandomFeatures({ size: 'm' });
  t.ok(xs.metrics.holdout.r2 > 0.3, `xs hold-out R² ${xs.metrics.holdout.r2.toFixed(3)}`);
  t.ok(m.metrics.holdout.r2 > 0.8, `m hold-out R² ${m.metrics.holdout.r2.toFixed(3)}`);
  t.ok(m.metrics.holdout.r2 > xs.metrics.holdout.r2 + 0.3, 'a wider model fits better');
  const withTable = trainRandomFeatures({ size: 's', memoryMb: 2 });
  t.equal(withTable.params.categories, 8192, '2 MB of 64-float rows');
  t.ok(withTable.metrics.holdout.r2 > 0.5, `with the category table: R² ${withTable.metrics.holdout.r2.toFixed(3)}`);
});

t.test('inference cost grows with the compute knob, memory with the table knob', async (t) => {
  const us: number[] = [];
  for (const width of [16, 64, 256]) {
    const path = join(dir, `w${width}.mlb`);
    await trainToFile({ family: 'random-features', features: 8, width, depth: 3, out: path, samples: 600 });
    us.push(measureInferenceUs(await loadModel(path), 100));
  }
  t.ok(
    us[0]! < us[1]! && us[1]! < us[2]!,
    `µs per prediction at width 16, 64, 256 (depth 3): ${us.map((u) => u.toFixed(2))}`,
  );
  t.ok(us[2]! > 5 * us[0]!, 'by more than the noise of a shared host');
  const small = await loadModel(join(dir, 'w16.mlb'));
  const tablePath = join(dir, 'table.mlb');
  await trainToFile({
    family: 'random-features',
    features: 8,
    width: 16,
    depth: 1,
    memoryMb: 24,
    out: tablePath,
    samples: 600,
  });
  const big = await loadModel(tablePath);
  t.ok(big.parameterBytes > 24 * 2 ** 20 * 0.99, `${big.parameterBytes} parameter bytes`);
  t.ok(big.parameterBytes > 1000 * small.parameterBytes);
});

t.test('a saved model answers exactly as the trained one, and says what it is', async (t) => {
  const path = join(dir, 'rt.mlb');
  const line = await trainToFile({ family: 'random-features', features: 8, size: 's', memoryMb: 1, out: path });
  t.match(line, /hold-out R²=0\.\d+/);
  const m = await loadModel(path);
  t.ok(m instanceof RandomFeaturesModel);
  t.equal(m.family, 'random-features');
  t.equal(m.size, 's+1MB');
  t.equal(m.featureCount, 8);
  const x = [0.1, -1, 2, 0.5, 0, 1, -0.3, 0.7];
  const p = m.predict(x);
  t.ok(Number.isFinite(p));
  t.equal(m.predict(x), p, 'deterministic');
  t.same(m.predictBatch([x, x]), [p, p]);
  t.ok((await loadModel(path)).predict(x) === p, 'a second load answers the same');
  const linearPath = join(dir, 'lin.json');
  await trainToFile({ features: 8, out: linearPath });
  t.ok((await loadModel(linearPath)) instanceof LinearModel, 'JSON artifacts still load as linear');
});

t.test('a corrupt, truncated or mismatched artifact fails to load with the reason', async (t) => {
  const path = join(dir, 'good.mlb');
  await trainToFile({ family: 'random-features', features: 8, size: 'xs', out: path });
  const good = await readFile(path);
  const variant = async (name: string, bytes: Buffer) => {
    const p = join(dir, name);
    await writeFile(p, bytes);
    return p;
  };
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3]! ^= 0x40;
  await t.rejects(loadModel(await variant('flip.mlb', flipped)), {
    name: 'ModelLoadError',
    message: /payload checksum/,
  });
  const cut = await variant('cut.mlb', good);
  await truncate(cut, good.length - 100);
  await t.rejects(loadModel(cut), { message: /truncated: \d+ of \d+ payload bytes/ });
  await t.rejects(loadModel(await variant('extra.mlb', Buffer.concat([good, Buffer.alloc(8)]))), {
    message: /bytes after the payload/,
  });
  await t.rejects(loadModel(await variant('short.mlb', good.subarray(0, 10))), {
    message: /shorter than the 12-byte prefix/,
  });
  // An edited header (here: the width) fails its own checksum.
  const headerLen = good.readUInt32LE(8);
  const header = good
    .subarray(12, 12 + headerLen)
    .toString('utf8')
    .replace('"width":16', '"width":17');
  const edited = Buffer.concat([good.subarray(0, 12), Buffer.from(header), good.subarray(12 + headerLen)]);
  await t.rejects(loadModel(await variant('edit.mlb', edited)), { message: /header checksum/ });
  await t.rejects(loadModel(join(dir, 'missing.mlb')), { message: /cannot read model file \(ENOENT\)/ });
  t.ok(new ModelLoadError('x') instanceof Error);
});

t.test('knobs out of range are refused before any work', async (t) => {
  t.throws(() => trainRandomFeatures({ size: 'huge' }), /size must be one of xs, s, m, l, xl/);
  t.throws(() => trainRandomFeatures({ width: 0 }), /width must be an integer from 1 to 4096/);
  t.throws(() => trainRandomFeatures({ depth: 65 }), /depth must be an integer/);
  await t.rejects(
    trainToFile({ features: 8, size: 'm', out: join(dir, 'x.json') }),
    /knobs of --family random-features/,
  );
});
