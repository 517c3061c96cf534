import { ConfigError } from '@mlbench/runtime';
import t from 'tap';
import { Agent } from 'undici';
import { loadGatewayConfig } from '../src/config.js';
import { classifyUpstreamError } from '../src/errors.js';
import { UpstreamPool } from '../src/upstreams.js';

t.test('round robin skips ejected replicas and readmits them after a good check', async (t) => {
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const pool = new UpstreamPool({ dispatcher, healthIntervalMs: 1000, healthTimeoutMs: 200 });
  pool.setOrigins(['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']);
  t.same(
    Array.from({ length: 6 }, () => pool.pick()?.origin),
    [
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
      'http://127.0.0.1:3',
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
      'http://127.0.0.1:3',
    ],
  );
  pool.reportConnectionFailure('http://127.0.0.1:2', 'ECONNREFUSED');
  t.equal(pool.usableCount(), 2);
  const picks = new Set(Array.from({ length: 4 }, () => pool.pick()?.origin));
  t.notOk(picks.has('http://127.0.0.1:2'), 'ejected replica gets no traffic');
  // Nothing listens on these ports: the active check marks them all unhealthy.
  await pool.checkAll();
  t.equal(pool.usableCount(), 0);
  t.equal(pool.pick(), undefined);
  pool.setOrigins(['http://127.0.0.1:3', 'http://127.0.0.1:4']);
  t.equal(pool.all.length, 2, 'DNS update replaces the set');
  t.equal(pool.all[0]!.healthy, false, 'known replica keeps its state');
  t.equal(pool.all[1]!.healthy, true, 'new replica starts optimistic');
});

t.test('upstream failures map to 502 / 504', async (t) => {
  const wrap = (code: string) => ({ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', cause: { code } });
  t.equal(classifyUpstreamError(wrap('ECONNREFUSED')).status, 502);
  t.equal(classifyUpstreamError(wrap('ECONNREFUSED')).connectionFailure, true);
  t.equal(classifyUpstreamError(wrap('UND_ERR_SOCKET')).status, 502);
  t.equal(classifyUpstreamError(wrap('UND_ERR_HEADERS_TIMEOUT')).status, 504);
  t.equal(classifyUpstreamError(wrap('UND_ERR_CONNECT_TIMEOUT')).status, 504);
  t.equal(classifyUpstreamError(wrap('UND_ERR_HEADERS_TIMEOUT')).connectionFailure, false);
});

t.test('gateway config needs exactly one discovery mode', async (t) => {
  t.throws(() => loadGatewayConfig({ PORT: '1' }), ConfigError);
  t.throws(() => loadGatewayConfig({ PREDICTION_URLS: 'http://a:1', PREDICTION_DNS: 'a:1' }), /exactly one/);
  t.throws(() => loadGatewayConfig({ PREDICTION_URLS: 'not a url' }), /PREDICTION_URLS: "not a url" is not a URL/);
  t.throws(() => loadGatewayConfig({ PREDICTION_URLS: 'ftp://a:1' }), /must be an http/);
  t.throws(() => loadGatewayConfig({ PREDICTION_DNS: 'no-port' }), /PREDICTION_DNS/);
  t.same(loadGatewayConfig({ PREDICTION_URLS: 'http://a:1/, http://b:2' }).upstreamUrls, ['http://a:1', 'http://b:2']);
  t.equal(loadGatewayConfig({ PREDICTION_DNS: 'prediction:8081' }).PREDICTION_DNS, 'prediction:8081');
});
