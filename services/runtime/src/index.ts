export * from './config.js';
export * from './metrics.js';
export * from './metrics-listener.js';
export * from './plugin.js';
export * from './server.js';
