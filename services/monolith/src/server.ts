import { runMain } from '@mlbench/runtime';
import { startModelService } from '@mlbench/serving';
import { monolithApp } from './app.js';

runMain('monolith', () => startModelService('monolith', { PORT: '8080', ...process.env }, monolithApp));
