import { runMain } from '@mlbench/runtime';
import { startModelService } from '@mlbench/serving';
import { predictionApp } from './app.js';

runMain('prediction', () => startModelService('prediction', process.env, predictionApp));
