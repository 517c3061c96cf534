export * from './budget.js';
export * from './errors.js';
export * from './policy.js';
export * from './pool.js';
export * from './retry.js';
export * from './shed.js';
