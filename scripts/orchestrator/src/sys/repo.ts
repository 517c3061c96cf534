import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the repository's files are, worked out once from this file's place in
 * scripts/orchestrator/{src,dist}/sys (both sit at the same depth, so tests under a
 * TypeScript loader and the compiled CLI agree).
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** This package: scripts/orchestrator/ (prices/, dist/). */
export const ORCHESTRATOR_DIR = join(REPO_ROOT, 'scripts', 'orchestrator');
export const COMPOSE_DIR = join(REPO_ROOT, 'compose');
export const SCENARIO_DIR = join(REPO_ROOT, 'loadtests', 'scenarios');

/** A deployable's program: services/<name>/dist/server.js (the public layout). */
export const serviceScript = (service: string): string => join(REPO_ROOT, 'services', service, 'dist', 'server.js');
