import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { request } from 'undici';

const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function get(url: string) {
  const res = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

/** The built gateway as a process, as every backend starts it; resolves once it serves. */
async function startGateway(t: Test, env: Record<string, string>) {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', PREDICTION_URLS: 'http://127.0.0.1:1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`gateway exited ${child.exitCode}: ${stderr}`);
    const ok = await get(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return { url, exited, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway did not serve within 10 s: ${stderr}`);
}

t.test('METRICS_PORT: metrics on their own port, none on the public one', async (t) => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const { url, exited, child } = await startGateway(t, { PORT: String(port), METRICS_PORT: String(metricsPort) });
  const pub = await get(`${url}/metrics`);
  t.equal(pub.status, 404, 'the public port serves no /metrics');
  t.notMatch(pub.body, /gateway_upstreams|process_cpu/, 'and leaks none of them');
  const m = await get(`http://127.0.0.1:${metricsPort}/metrics`);
  t.equal(m.status, 200);
  t.match(m.body, /gateway_upstreams\{[^}]*state="known"[^}]*\} 1/, 'the gateway metrics are there');
  t.match(m.body, /process_cpu_seconds_total/);
  t.equal((await get(`http://127.0.0.1:${metricsPort}/predict`)).status, 404, 'and nothing else is');
  t.equal((await get(`${url}/healthz`)).status, 200, 'health stays on the public port (probes use it)');
  // A graceful stop closes both listeners and exits 0.
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  await t.rejects(get(`http://127.0.0.1:${metricsPort}/metrics`), 'the metrics port is closed too');
});

t.test('without METRICS_PORT /metrics stays on PORT (the process backend: loopback only)', async (t) => {
  const port = await freePort();
  const { url } = await startGateway(t, { PORT: String(port) });
  const m = await get(`${url}/metrics`);
  t.equal(m.status, 200);
  t.match(m.body, /gateway_upstreams/);
});

t.test('a METRICS_PORT that is taken: the gateway exits 1 with one line', async (t) => {
  const port = await freePort();
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.teardown(() => taken.close());
  const { port: busy } = taken.address() as { port: number };
  const child = spawn(process.execPath, [SERVER], {
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'silent',
      PREDICTION_URLS: 'http://127.0.0.1:1',
      PORT: String(port),
      METRICS_PORT: String(busy),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.equal(code, 1);
  t.match(stderr, /EADDRINUSE/, `says why: ${stderr.trim()}`);
});
