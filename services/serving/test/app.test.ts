import { LinearModel, train } from '@mlbench/model';
import { BaseConfig, createFastify, loadConfig } from '@mlbench/runtime';
import t from 'tap';
import { modelServiceApp } from '../src/app.js';

const model = new LinearModel(train({ features: 4, seed: 5 }));

async function build() {
  const app = createFastify(loadConfig(BaseConfig, { PORT: '0', LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: '4096' }));
  await app.register(modelServiceApp, { service: 'prediction', replicaId: 'p-1', model, maxBatch: 5 });
  return app;
}

t.test('predict and batch return the model’s own predictions', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  const one = await app.inject({ method: 'POST', url: '/predict', payload: { features: [1, 2, 3, 4] } });
  t.equal(one.statusCode, 200);
  t.equal(one.json().prediction, model.predict([1, 2, 3, 4]));
  t.same(one.json().model, { name: model.name, version: model.version });
  t.equal(one.headers['x-served-by'], 'p-1');
  const rows = [
    [0, 0, 0, 0],
    [1, -1, 0.5, 1e6],
  ];
  const batch = await app.inject({ method: 'POST', url: '/predict/batch', payload: { instances: rows } });
  t.equal(batch.statusCode, 200);
  t.same(batch.json().predictions, model.predictBatch(rows));
  const metrics = (await app.inject({ url: '/metrics' })).body;
  t.match(metrics, /model_inference_duration_seconds_count\{[^}]*service="prediction"[^}]*\} 2/);
});

t.test('every kind of bad input is a 4xx naming the problem', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  const json = { 'content-type': 'application/json' };
  const cases: {
    name: string;
    url?: string;
    body: string;
    headers?: Record<string, string>;
    status: number;
    msg: RegExp;
  }[] = [
    { name: 'wrong feature count', body: '{"features":[1,2,3]}', status: 400, msg: /fewer than 4 items/ },
    { name: 'too many features', body: '{"features":[1,2,3,4,5]}', status: 400, msg: /more than 4 items/ },
    { name: 'string feature', body: '{"features":[1,2,"3",4]}', status: 400, msg: /features\/2 must be number/ },
    { name: 'null feature', body: '{"features":[1,2,null,4]}', status: 400, msg: /must be number/ },
    { name: 'overflow to Infinity', body: '{"features":[1,2,1e400,4]}', status: 400, msg: /must be number/ },
    { name: 'missing field', body: '{}', status: 400, msg: /required property 'features'/ },
    { name: 'extra field', body: '{"features":[1,2,3,4],"debug":true}', status: 400, msg: /additional properties/ },
    { name: 'not an object', body: '[1,2,3,4]', status: 400, msg: /must be object/ },
    { name: 'malformed JSON', body: '{"features":[1,2', status: 400, msg: /not valid JSON/ },
    { name: 'NaN literal', body: '{"features":[NaN,1,2,3]}', status: 400, msg: /not valid JSON/ },
    { name: 'empty body', body: '', status: 400, msg: /empty/i },
    {
      name: 'proto pollution',
      body: '{"features":[1,2,3,4],"__proto__":{"x":1}}',
      status: 400,
      msg: /not valid JSON|prototype/,
    },
    {
      name: 'wrong content type',
      body: 'features=1',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      msg: /Unsupported Media Type/,
    },
    {
      name: 'body over the limit',
      body: JSON.stringify({ features: new Array(3000).fill(1) }),
      status: 413,
      msg: /too large/,
    },
    {
      name: 'batch too large',
      url: '/predict/batch',
      body: JSON.stringify({ instances: new Array(6).fill([1, 2, 3, 4]) }),
      status: 400,
      msg: /more than 5 items/,
    },
    { name: 'empty batch', url: '/predict/batch', body: '{"instances":[]}', status: 400, msg: /fewer than 1 items/ },
    {
      name: 'ragged batch',
      url: '/predict/batch',
      body: '{"instances":[[1,2,3,4],[1,2]]}',
      status: 400,
      msg: /instances\/1 must NOT have fewer/,
    },
  ];
  for (const c of cases) {
    const res = await app.inject({
      method: 'POST',
      url: c.url ?? '/predict',
      payload: c.body,
      headers: c.headers ?? json,
    });
    t.equal(res.statusCode, c.status, `${c.name}: status`);
    t.match(res.json().message, c.msg, `${c.name}: message`);
  }
  const ok = await app.inject({ method: 'POST', url: '/predict', payload: { features: [1, 2, 3, 4] } });
  t.equal(ok.statusCode, 200, 'still serving after bad input');
});

t.test('inputs that overflow the model are a 400, never a 500 or a null', async (t) => {
  // Weights above 1 and of both signs: 1e308 × 2 is +Inf, × −3 is −Inf, and their sum NaN.
  const artifact = { ...train({ features: 4, seed: 5 }), weights: [2, -3, 1, 0.5], intercept: 1 };
  const overflowing = new LinearModel(artifact);
  const app = createFastify(loadConfig(BaseConfig, { PORT: '0', LOG_LEVEL: 'silent' }));
  await app.register(modelServiceApp, { service: 'prediction', replicaId: 'p-1', model: overflowing, maxBatch: 5 });
  t.teardown(() => app.close());
  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  const cases: [string, number[]][] = [
    ['+Inf plus −Inf (NaN)', [1e308, 1e308, 1e308, 1e308]],
    ['+Inf', [1e308, 0, 0, 0]],
    ['−Inf', [0, 1e308, 0, 0]],
    ['huge of both signs', [-1.7e308, 1.7e308, 0, 0]],
  ];
  for (const [name, features] of cases) {
    const one = await post('/predict', { features });
    t.equal(one.statusCode, 400, `${name}: 400`);
    t.match(one.json(), { code: 'PREDICTION_NOT_FINITE', message: /not a finite number/ }, name);
    const batch = await post('/predict/batch', { instances: [[1, 1, 1, 1], features] });
    t.equal(batch.statusCode, 400, `${name} in a batch: 400`);
    t.match(batch.json().message, /instance 1 is not a finite number/);
  }
  // In range, however small or signed: 200 with finite numbers.
  for (const features of [
    [5e-324, -5e-324, 2.2e-308, 0],
    [-0, -0, -0, -0],
    [1e-320, 1e300, -1e300, 1e-300],
  ]) {
    const one = await post('/predict', { features });
    t.equal(one.statusCode, 200, JSON.stringify(features));
    t.ok(Number.isFinite(one.json().prediction), `${JSON.stringify(features)}: a finite prediction`);
    t.equal(one.json().prediction, overflowing.predict(features));
  }
  const metrics = (await app.inject({ url: '/metrics' })).body;
  t.notMatch(metrics, /status_code="500"|status="500"/, 'no 500 recorded');
});
