export * from './artifact.js';
export * from './atomic.js';
export * from './predict.js';
export * from './random.js';
export * from './train.js';
export * from './train-file.js';
