import { runMain } from '@mlbench/runtime';
import { startModelService } from './start.js';

runMain('prediction', () => startModelService('prediction'));
