// test: as-user (the CLI's refusals, in process: CI checks them as an ordinary user too)
import { readFileSync } from 'node:fs';
import t from 'tap';
import { composeNginxConfig, nginxConfig, parseStubStatus } from '../../src/backends/nginx.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/servers.js';

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
    const err = await runCli(['bench', '--gateway', 'nginx', ...args]);
    t.ok(err.code !== 0, `${args.join(' ')}: refused`);
    t.ok(err.code > 0, 'a non-zero exit');
    t.equal(err.err.trim().split('\n')[0]?.startsWith('mlbench: '), true, 'a one-line reason');
    t.match(err.err, reason);
  }
});
