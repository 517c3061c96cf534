export * from './atomic.js';
export * from './families.js';
export * from './random.js';
export * from './serve.js';
export * from './train.js';
export * from './train-file.js';
export * from './train-random-features.js';
