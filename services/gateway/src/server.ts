import { createFastify, listenUntilSignalled, replicaIdFor, runMain } from '@mlbench/runtime';
import { gatewayApp } from './app.js';
import { loadGatewayConfig } from './config.js';

runMain('gateway', async () => {
  const config = loadGatewayConfig();
  const app = createFastify(config);
  await app.register(gatewayApp, { replicaId: replicaIdFor(config), config });
  await listenUntilSignalled(app, config);
});
