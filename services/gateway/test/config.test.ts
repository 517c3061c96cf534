import { ConfigError } from '@mlbench/runtime';
import t from 'tap';
import { loadGatewayConfig } from '../src/config.js';

t.test('gateway config needs exactly one discovery mode', async (t) => {
  t.throws(() => loadGatewayConfig({ PORT: '1' }), ConfigError);
  t.throws(() => loadGatewayConfig({ PREDICTION_URLS: 'http://a:1', PREDICTION_DNS: 'a:1' }), /exactly one/);
  t.throws(() => loadGatewayConfig({ PREDICTION_URLS: 'not a url' }), /PREDICTION_URLS: "not a url" is not a URL/);
  t.throws(() => loadGatewayConfig({ PREDICTION_URLS: 'ftp://a:1' }), /must be an http/);
  t.throws(() => loadGatewayConfig({ PREDICTION_DNS: 'no-port' }), /PREDICTION_DNS/);
  t.same(loadGatewayConfig({ PREDICTION_URLS: 'http://a:1/, http://b:2' }).upstreamUrls, ['http://a:1', 'http://b:2']);
  t.equal(loadGatewayConfig({ PREDICTION_DNS: 'prediction:8081' }).PREDICTION_DNS, 'prediction:8081');
});
