import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import t from 'tap';
import { request } from 'undici';
import { composeNginxConfig, nginxBinary, nginxConfig, parseStubStatus } from '../../src/backends/nginx.js';
import { deployProcesses } from '../../src/backends/process.js';
import { BODY } from '../../src/perf/servers.js';
import { CLI, processesOfRun, ROOT } from '../helpers/servers.js';

const run = promisify(execFile);

t.test('the generated config: loopback only, no access log, keepalive, our timeouts and retry policy', async (t) => {
  const conf = nginxConfig({
    port: 18080,
    statusPort: 18081,
    upstreams: ['http://127.0.0.1:9001', 'http://127.0.0.1:9002'],
    dir: '/tmp/x',
  });
  t.same(
    [...conf.matchAll(/^\s*listen (\S+);/gm)].map((m) => m[1]),
    ['127.0.0.1:18080', '127.0.0.1:18081'],
    'both servers listen on loopback only',
  );
  t.match(conf, /^\s*access_log off;/m);
  t.match(conf, /server 127\.0\.0\.1:9001 max_fails=1 fail_timeout=1s;\n\s*server 127\.0\.0\.1:9002 max_fails=1/);
  t.match(conf, /keepalive 128;/);
  t.match(conf, /proxy_set_header Connection "";/, 'upstream keepalive needs the hop-by-hop header cleared');
  t.match(conf, /proxy_connect_timeout 1000ms;/);
  t.match(conf, /proxy_read_timeout 5000ms;/);
  t.match(conf, /proxy_next_upstream error http_503 non_idempotent;/, 'timeouts are not retried, as in ours');
  t.match(conf, /proxy_next_upstream_tries 2;/);
  t.match(conf, /client_max_body_size 1048576;/);
  t.notMatch(conf, /\/var\/(log|lib)/, 'nothing outside its own folder (an ordinary user runs it)');
});

t.test('compose/nginx/gateway.conf is the generated Compose config (make compose-nginx-conf)', async (t) => {
  const committed = readFileSync(`${ROOT}/compose/nginx/gateway.conf`, 'utf8');
  t.equal(committed, composeNginxConfig(), 'run `make compose-nginx-conf` after changing backends/nginx.ts');
  t.same(
    [...committed.matchAll(/^\s*listen (\S+);/gm)].map((m) => m[1]),
    ['0.0.0.0:8080', '127.0.0.1:8081'],
    'inside its container: the public port on every address, stub_status on loopback only',
  );
  t.match(committed, /server prediction:8080 max_fails=1/);
  t.match(committed, /error_log stderr warn;/);
});

t.test('stub_status is parsed, and anything else is refused', async (t) => {
  t.same(
    parseStubStatus(
      'Active connections: 3 \nserver accepts handled requests\n 12 12 345 \nReading: 0 Writing: 1 Waiting: 2 \n',
    ),
    { active: 3, accepts: 12, handled: 12, requests: 345 },
  );
  t.throws(() => parseStubStatus('<html>not found</html>'), /not an nginx stub_status page/);
});

t.test('usage: --gateway nginx needs the process backend and takes no --preprocess', async (t) => {
  for (const [args, reason] of [
    [['--backend', 'docker'], /--gateway nginx needs --backend process/],
    [['--preprocess', 'raw=8,standardize'], /--gateway nginx takes no --preprocess/],
    [['--gateway', 'envoy'], /Allowed choices are fastify, nginx/],
  ] as [string[], RegExp][]) {
    const err = await run(process.execPath, [CLI, 'bench', '--gateway', 'nginx', ...args], { timeout: 30_000 }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    t.ok(err, `${args.join(' ')}: refused`);
    t.ok((err?.code ?? 0) > 0, 'a non-zero exit');
    t.equal(err?.stderr.trim().split('\n')[0]?.startsWith('mlbench: '), true, 'a one-line reason');
    t.match(err?.stderr, reason);
  }
});

const haveNginx = nginxBinary() !== undefined;
t.test(
  'nginx in front of two prediction replicas: balances, passes x-served-by, answers JSON errors, survives a dead replica, leaves nothing',
  { skip: !haveNginx && !process.env.CI ? 'nginx not installed (apt-get install nginx-light)' : false },
  async (t) => {
    const runId = `nginx-${process.pid}`;
    const dep = await deployProcesses('microservices', 2, { modelPath: DEFAULT_MODEL_PATH, runId, gateway: 'nginx' });
    let stopped = false;
    t.teardown(() => (stopped ? undefined : dep.stop()));
    t.same(
      dep.components.map((c) => `${c.name}:${c.service}`),
      ['prediction-1:prediction', 'prediction-2:prediction', 'gateway-1:gateway'],
    );
    t.match(dep.entrySpreading, /one gateway over 2 prediction replica\(s\), nginx: round robin/);
    const gw = dep.components.find((c) => c.service === 'gateway')!;
    t.ok(gw.pid && existsSync(`/proc/${gw.pid}`), 'the gateway is the nginx process mlbench started');
    const url = dep.entryUrls[0]!;
    const post = async (body: string | Buffer = BODY) => {
      const res = await request(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return {
        status: res.statusCode,
        servedBy: res.headers['x-served-by'],
        type: res.headers['content-type'],
        json: (await res.body.json()) as Record<string, unknown>,
      };
    };
    const servedBy = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await post();
      t.equal(r.status, 200);
      t.type(r.json.prediction, 'number');
      servedBy.add(String(r.servedBy));
    }
    t.same([...servedBy].sort(), ['prediction-1', 'prediction-2'], 'round robin, the replica named in x-served-by');

    const bad = await post('{"features": "nope"}');
    t.equal(bad.status, 400, "the replica's 400 passes through");
    const big = await post(Buffer.alloc(2 * 1024 * 1024, 0x20));
    t.equal(big.status, 413, 'over the body limit: 413');
    t.match(big.json, { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' }, 'as JSON, like ours');
    t.match(big.type, /application\/json/);

    const status = await request(`${gw.metricsUrl}/nginx_status`);
    const counts = parseStubStatus(await status.body.text());
    t.ok(counts.requests >= 22, `stub_status counted the requests (${counts.requests})`);
    const open = await request(`${url}/nginx_status`);
    t.equal(open.statusCode, 404, 'stub_status is not on the public port');
    await open.body.dump();

    // A replica dies: every request still answers 200 (refused → retried on the other, and
    // the dead one is out for fail_timeout).
    const victim = dep.processes.get('prediction-1')!;
    victim.killNow();
    await victim.exited;
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await post();
      t.equal(r.status, 200, `request ${i + 1} after the kill`);
      after.add(String(r.servedBy));
    }
    t.same([...after], ['prediction-2']);

    const ours = (f: string) => f.startsWith('mlbench-nginx-gateway-1-');
    const dirs = readdirSync(tmpdir()).filter(ours);
    t.ok(dirs.length >= 1, 'nginx runs from a folder of its own');
    await dep.stop();
    stopped = true;
    t.same(processesOfRun(runId), [], 'no process left, nginx included (it carries the run id)');
    await new Promise((r) => setTimeout(r, 200));
    t.same(
      readdirSync(tmpdir()).filter((f) => dirs.includes(f)),
      [],
      'its config folder removed',
    );
  },
);
