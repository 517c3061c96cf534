/**
 * What a serving process needs: the artifact format and predict, without the trainers.
 * `@mlbench/model` (the index) also loads ml-regression, about 12 MB of RSS that a
 * prediction replica or the monolith would carry for nothing (make perf, memory).
 */
export * from './artifact.js';
export * from './predict.js';
