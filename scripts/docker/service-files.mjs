#!/usr/bin/env node
// Stage one service's files for its image: node service-files.mjs SERVICE SRC OUT.
// Copies the service's package.json and dist/, and the same of every workspace library it
// depends on (transitively), plus the runtime's healthcheck and, where the model library is
// among them, the default model's artifacts: exactly what the image runs, nothing else.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [service, src, out] = process.argv.slice(2);
if (!service || !src || !out) {
  process.stderr.write('usage: service-files.mjs SERVICE SRC OUT\n');
  process.exit(2);
}
const dirOf = (name) => join('services', name.replace(/^@mlbench\//, ''));
const wanted = new Set();
const visit = (dir) => {
  if (wanted.has(dir)) return;
  const pkgFile = join(src, dir, 'package.json');
  if (!existsSync(pkgFile)) throw new Error(`${dir}: no package.json (SERVICE=${service}?)`);
  wanted.add(dir);
  const deps = JSON.parse(readFileSync(pkgFile, 'utf8')).dependencies ?? {};
  for (const name of Object.keys(deps)) if (name.startsWith('@mlbench/')) visit(dirOf(name));
};
visit(join('services', service));
for (const dir of wanted) {
  cpSync(join(src, dir, 'package.json'), join(out, dir, 'package.json'));
  cpSync(join(src, dir, 'dist'), join(out, dir, 'dist'), { recursive: true });
}
cpSync(join(src, 'services/runtime/healthcheck.sh'), join(out, 'services/runtime/healthcheck.sh'));
if (wanted.has('services/model'))
  cpSync(join(src, 'services/model/artifacts'), join(out, 'services/model/artifacts'), { recursive: true });
process.stdout.write(`${[...wanted].sort().join(' ')}\n`);
