#!/usr/bin/env node
// A committed entry point, so that `npm ci` on a fresh clone links `npx mlbench` before
// anything is compiled (npm links no bin whose target does not exist yet).
try {
  await import('../dist/cli.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('mlbench: not built yet: run `make build` (or `npm run build`) first');
    process.exit(1);
  }
  throw err;
}
