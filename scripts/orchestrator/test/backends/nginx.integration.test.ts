// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import t from 'tap';
import { request } from 'undici';
import { nginxBinary, parseStubStatus } from '../../src/backends/nginx.js';
import { deployProcesses } from '../../src/backends/process.js';
import { BODY } from '../../src/perf/servers.js';
import { processesOfRun } from '../helpers/servers.js';

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
