export * from './app.js';
export * from './config.js';
export * from './routes.js';
export * from './schemas.js';
export * from './start.js';
