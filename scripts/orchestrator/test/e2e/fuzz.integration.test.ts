import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { deployProcesses, type ProcessDeployment } from '../../src/backends/process.js';
import { sampleProcess } from '../../src/sys/procfs.js';

// Hostile input against every endpoint of every service, over real sockets. Every answer
// must be a 4xx (or a closed connection for broken HTTP), never a 5xx; a 200 always carries
// finite numbers; no replica is ejected for it; and afterwards the service must still
// answer valid requests with bounded memory.
const env = { REQUEST_TIMEOUT_MS: '3000', HEADERS_TIMEOUT_MS: '1500' };
const valid = JSON.stringify({ features: [1, 2, 3, 4, 5, 6, 7, 8] });

let mono: ProcessDeployment;
let micro: ProcessDeployment;
t.before(async () => {
  mono = await deployProcesses('monolith', 1, {
    modelPath: DEFAULT_MODEL_PATH,
    runId: `fuzz-${process.pid}`,
    extraEnv: env,
  });
  // Two replicas: the gateway never ejects its last one, so only two can show an ejection.
  micro = await deployProcesses('microservices', 2, {
    modelPath: DEFAULT_MODEL_PATH,
    runId: `fuzz-${process.pid}`,
    extraEnv: env,
  });
});
t.teardown(async () => {
  await mono?.stop();
  await micro?.stop();
});

const targets = () => [
  { name: 'monolith', url: mono.components.find((c) => c.service === 'monolith')!.url },
  { name: 'prediction', url: micro.components.find((c) => c.service === 'prediction')!.url },
  { name: 'gateway', url: micro.components.find((c) => c.service === 'gateway')!.url },
];
const paths = ['/predict', '/predict/batch'];

/** The status; a 200 whose body is not the API's answer with finite numbers is a failure here. */
async function post(url: string, body: string | Buffer, contentType = 'application/json') {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    headersTimeout: 10_000,
  });
  const text = await res.body.text();
  if (res.statusCode === 200) {
    const answer = JSON.parse(text) as { prediction?: unknown; predictions?: unknown };
    const numbers = Array.isArray(answer.predictions) ? answer.predictions : [answer.prediction];
    if (!numbers.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw new Error(`200 without finite numbers from ${url}: ${text.slice(0, 200)}`);
  }
  lastBody = text;
  return res.statusCode;
}
let lastBody = '';
/** A valid request whose prediction overflows the model is refused by name, never served as null. */
const overflowRefused = (status: number) => status === 400 && lastBody.includes('PREDICTION_NOT_FINITE');

/** What a correct server must accept: exactly the schema, anything else is a client error. */
function isValidBody(path: string, value: unknown): boolean {
  const vec = (v: unknown) =>
    Array.isArray(v) && v.length === 8 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (path === '/predict') return keys.length === 1 && vec((value as { features?: unknown }).features);
  const inst = (value as { instances?: unknown }).instances;
  return keys.length === 1 && Array.isArray(inst) && inst.length >= 1 && inst.length <= 1000 && inst.every(vec);
}

async function stillServing(t: Test) {
  for (const { name, url } of targets())
    t.equal(await post(`${url}/predict`, valid), 200, `${name} still serves valid requests`);
}

t.test('arbitrary JSON documents: 4xx unless exactly valid', async (t) => {
  const featureish = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.constantFrom(1e308, -1e308, 5e-324, 0, -0),
    fc.string(),
    fc.constant(null),
  );
  const doc = fc.oneof(
    fc.jsonValue(),
    fc.record({ features: fc.array(featureish, { maxLength: 12 }) }),
    fc.record({
      features: fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 8, maxLength: 8 }),
      extra: fc.jsonValue(),
    }),
    fc.record({ instances: fc.array(fc.array(featureish, { maxLength: 10 }), { maxLength: 4 }) }),
  );
  await fc.assert(
    fc.asyncProperty(doc, fc.constantFrom(...paths), fc.constantFrom(0, 1, 2), async (value, path, i) => {
      const { url } = targets()[i]!;
      const body = JSON.stringify(value) ?? 'null';
      const status = await post(`${url}${path}`, body);
      const expectOk = isValidBody(path, JSON.parse(body));
      return expectOk ? status === 200 || overflowRefused(status) : status >= 400 && status < 500;
    }),
    { numRuns: 300, seed: 20261129 },
  );
  await stillServing(t);
});

t.test('malformed bytes, wrong content types: 4xx', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string(),
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      ),
      fc.constantFrom(
        'application/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/octet-stream',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
      ),
      fc.constantFrom(...paths),
      fc.constantFrom(0, 1, 2),
      async (body, contentType, path, i) => {
        const { url } = targets()[i]!;
        const status = await post(`${url}${path}`, body, contentType);
        if (status === 200) {
          // Only a body that happens to be a valid JSON document of the right shape may pass.
          try {
            return contentType.startsWith('application/json') && isValidBody(path, JSON.parse(body.toString()));
          } catch {
            return false;
          }
        }
        return status >= 400 && status < 500;
      },
    ),
    { numRuns: 300, seed: 7 },
  );
  await stillServing(t);
});

t.test('edge cases: NaN, overflow, deep nesting, long arrays, 10 MB, prototype pollution', async (t) => {
  const cases: [string, string | Buffer, number[]][] = [
    ['NaN literal', '{"features":[NaN,1,2,3,4,5,6,7]}', [400]],
    ['Infinity literal', '{"features":[Infinity,1,2,3,4,5,6,7]}', [400]],
    ['overflow to Infinity', '{"features":[1e999,1,2,3,4,5,6,7]}', [400]],
    // Finite inputs, but the prediction may overflow: served with a finite number, or refused by name.
    ['huge but finite', '{"features":[1.7e308,1,2,3,4,5,6,7]}', [200, 400]],
    ['+huge everywhere (+Inf + −Inf)', JSON.stringify({ features: new Array(8).fill(1e308) }), [200, 400]],
    ['−huge everywhere', JSON.stringify({ features: new Array(8).fill(-1.7e308) }), [200, 400]],
    ['huge of both signs', '{"features":[1e308,-1e308,1e308,-1e308,1e308,-1e308,1e308,-1e308]}', [200, 400]],
    [
      'huge in a batch',
      JSON.stringify({ instances: [[1, 2, 3, 4, 5, 6, 7, 8], new Array(8).fill(1e308)] }),
      [200, 400],
    ],
    ['subnormal', '{"features":[5e-324,-5e-324,4.9e-324,1e-320,0,0,0,0]}', [200]],
    ['underflow to zero', '{"features":[1e-400,-1e-400,1e-999,0,0,0,0,0]}', [200]],
    ['negative zero', '{"features":[-0,-0,-0,-0,-0,-0,-0,-0]}', [200]],
    ['negative zero in a batch', '{"instances":[[-0,-0,-0,-0,-0,-0,-0,-0],[0,0,0,0,0,0,0,0]]}', [200]],
    ['deep nesting', `{"features":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, [400]],
    ['long array', JSON.stringify({ features: new Array(100_000).fill(1) }), [400]],
    ['long batch', JSON.stringify({ instances: new Array(5_000).fill([1, 2, 3, 4, 5, 6, 7, 8]) }), [400, 413]],
    ['10 MB body', Buffer.alloc(10 * 1024 * 1024, 0x31), [413]],
    ['__proto__', '{"features":[1,2,3,4,5,6,7,8],"__proto__":{"polluted":true}}', [400]],
    ['constructor.prototype', '{"features":[1,2,3,4,5,6,7,8],"constructor":{"prototype":{"x":1}}}', [400]],
    ['missing field', '{}', [400]],
    ['null body', 'null', [400]],
    ['empty body', '', [400]],
    ['duplicate keys', '{"features":[1],"features":[1,2,3,4,5,6,7,8]}', [200, 400]],
  ];
  for (const { name, url } of targets()) {
    for (const [what, body, expected] of cases) {
      const path = what === 'long batch' || what.includes('in a batch') ? '/predict/batch' : '/predict';
      let status: number;
      try {
        status = await post(`${url}${path}`, body);
      } catch (err) {
        // A server may close the connection on a 10 MB upload after answering 413.
        status = what === '10 MB body' ? 413 : -1;
        if (status < 0) t.fail(`${name} ${what}: ${(err as Error).message}`);
      }
      t.ok(expected.includes(status), `${name} ${what}: ${status}`);
      if (status === 400 && expected.includes(200)) t.ok(overflowRefused(status), `${name} ${what}: ${lastBody}`);
    }
  }
  await stillServing(t);
});

/** Write raw bytes on a TCP connection; resolve with what came back before the server closed it. */
function raw(url: string, chunks: string[], gapMs = 0, waitMs = 4000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let got = '';
    const done = () => {
      sock.destroy();
      resolve(got);
    };
    sock.on('data', (d) => {
      got += d.toString();
    });
    sock.on('close', done);
    sock.on('error', done);
    setTimeout(done, waitMs);
    sock.on('connect', async () => {
      for (const c of chunks) {
        if (sock.destroyed) return;
        sock.write(c);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

t.test('invalid HTTP and slow-loris clients are cut off, valid clients still served', async (t) => {
  for (const { name, url } of targets()) {
    for (const junk of [
      'GARBAGE\r\n\r\n',
      'POST /predict HTTP/9.9\r\n\r\n',
      'POST /predict HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
      'POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      '\x00\x01\x02\x03\r\n\r\n',
    ]) {
      const answer = await raw(url, [junk], 0, 3000);
      const status = Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0);
      t.ok(
        status === 0 || (status >= 400 && status < 500),
        `${name}: ${JSON.stringify(junk.slice(0, 20))} → ${status || 'closed'}`,
      );
    }
    // 100 clients that send their request head a byte at a time, too slowly.
    const slow = Array.from({ length: 100 }, () =>
      raw(url, 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'.split(''), 200, 8000),
    );
    await sleep(500);
    t.equal(await post(`${url}/predict`, valid), 200, `${name}: served while 100 slow clients hang on`);
    const t0 = performance.now();
    const answers = await Promise.all(slow);
    const waited = performance.now() - t0;
    t.ok(waited < 7500, `${name}: slow clients cut off by the headers timeout (${waited.toFixed(0)} ms)`);
    t.ok(
      answers.every((a) => a === '' || /^HTTP\/1\.1 4\d\d/.test(a)),
      `${name}: they got a 408/4xx or a close, never a 5xx`,
    );
  }
  await stillServing(t);
});

t.test('memory stays bounded after all of the above', async (t) => {
  for (const dep of [mono, micro]) {
    for (const c of dep.components) {
      const s = sampleProcess(c.pid);
      t.ok(s && s.rssMB < 300, `${c.name}: RSS ${s?.rssMB.toFixed(0)} MB`);
    }
  }
});

t.test('bad input ejected no replica and cost no 5xx behind the gateway', async (t) => {
  const gw = micro.components.find((c) => c.service === 'gateway')!;
  const res = await request(`${gw.url}/metrics`);
  const text = await res.body.text();
  const usable = /^gateway_upstreams\{[^}]*state="usable"[^}]*\} (\d+)/m.exec(text)?.[1];
  t.equal(usable, '2', 'both prediction replicas still usable');
  const outcomes = [...text.matchAll(/^gateway_upstream_requests_total\{[^}]*outcome="([^"]+)"[^}]*\} (\d+)/gm)];
  t.ok(outcomes.length > 0, 'the gateway counted what its replicas answered');
  t.same(
    outcomes.filter(([, outcome]) => !/^[234]\d\d$/.test(outcome!)).map(([line]) => line),
    [],
    'every answer from a replica was a 2xx–4xx',
  );
});
