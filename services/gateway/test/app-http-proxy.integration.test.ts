// The gateway's behaviour tests again, with FORWARDER=http-proxy (@fastify/http-proxy).
process.env.GATEWAY_TEST_FORWARDER = 'http-proxy';
await import('./app.integration.test.js');

export {};
