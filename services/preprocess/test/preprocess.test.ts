import t from 'tap';
import { PreprocessError, Preprocessor, parsePreprocessSpec } from '../src/index.js';

t.test('the spec: defaults, every part, and errors that name the part', async (t) => {
  t.same(parsePreprocessSpec('raw=8'), {
    rawFeatures: 8,
    maxAbs: 1e6,
    standardize: false,
    expand: { kind: 'none' },
    seed: 1,
  });
  t.same(parsePreprocessSpec('raw=4,maxabs=10,standardize,expand=projection:64,seed=7'), {
    rawFeatures: 4,
    maxAbs: 10,
    standardize: true,
    expand: { kind: 'projection', features: 64 },
    seed: 7,
  });
  for (const [bad, re] of [
    ['', /raw=R is required/],
    ['raw=0', /raw must be an integer from 1/],
    ['raw=8,expand=cubic', /expand must be none, pairwise or projection:N/],
    ['raw=8,expand=projection:0', /projection:N needs N from 1/],
    ['raw=8,maxabs=-1', /maxabs must be a positive number/],
    ['raw=8,bogus', /unknown part "bogus"/],
  ] as const)
    t.throws(() => parsePreprocessSpec(bad), re, bad);
});

t.test('expansion: sizes, determinism, and what it computes', async (t) => {
  const none = new Preprocessor(parsePreprocessSpec('raw=3'));
  t.same(none.apply([1, 2, 3]), [1, 2, 3], 'no work: the inputs as they are');
  const pair = new Preprocessor(parsePreprocessSpec('raw=3,expand=pairwise'));
  t.equal(pair.outputFeatures, 3 + 6);
  t.same(pair.apply([1, 2, 3]), [1, 2, 3, 1, 2, 3, 4, 6, 9]);
  const a = new Preprocessor(parsePreprocessSpec('raw=8,standardize,expand=projection:256,seed=3'));
  const b = new Preprocessor(parsePreprocessSpec('raw=8,standardize,expand=projection:256,seed=3'));
  const x = [0.1, -1, 2, 0.5, 0, 1, -0.3, 0.7];
  const out = a.apply(x);
  t.equal(out.length, 256);
  t.same(b.apply(x), out, 'the same spec gives the same features in every process (monolith and gateway)');
  t.ok(
    out.every((v) => Number.isFinite(v) && Math.abs(v) <= 1),
    'tanh projections',
  );
  t.not(new Preprocessor(parsePreprocessSpec('raw=8,expand=projection:256,seed=4')).apply(x)[0], out[0]);
  const std = new Preprocessor(parsePreprocessSpec('raw=2,standardize'));
  t.not(std.apply([0, 0])[0], 0, 'standardize shifts by the fitted mean');
});

t.test('bad inputs are the client’s: a PreprocessError with a code', async (t) => {
  const p = new Preprocessor(parsePreprocessSpec('raw=3,maxabs=100'));
  t.throws(() => p.apply([1, 2]), {
    name: 'PreprocessError',
    code: 'PREPROCESS_WRONG_LENGTH',
    message: /has 2 values; this API takes 3/,
  });
  t.throws(() => p.apply([1, 2, 1e9]), {
    code: 'PREPROCESS_OUT_OF_RANGE',
    message: /features\[2\] = 1000000000 is outside ±100/,
  });
  t.throws(() => p.apply([1, Number.NaN, 0], 'instances[4]'), /instances\[4\]\[1\] = NaN/);
  t.ok(new PreprocessError('x') instanceof Error);
});
