import { startModelService } from '@mlbench/prediction';
import { runMain } from '@mlbench/runtime';

runMain('monolith', () => startModelService('monolith', { PORT: '8080', ...process.env }));
