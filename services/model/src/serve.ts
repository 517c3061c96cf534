/**
 * What a serving process needs: the artifact formats, the families' inference and
 * loadModel, without the trainers. `@mlbench/model` (the index) also loads ml-regression,
 * about 12 MB of RSS that a prediction replica or the monolith would carry for nothing
 * (make perf, memory).
 */
export * from './artifact.js';
export * from './load.js';
export * from './model.js';
export * from './predict.js';
export * from './random-features.js';
export * from './tensor-artifact.js';
