#!/usr/bin/env node
// Workspace metadata tells the truth, or `make lint` fails. Checked (plain Node, no build
// needed, so it runs on a fresh clone before anything is compiled):
//  - the root tsconfig references every workspace, and nothing else;
//  - each package's tsconfig references exactly the workspace packages its package.json
//    depends on (tsc --build order and npm's graph cannot drift apart);
//  - main, types and exports point at files the build makes (dist/X.js from src/X.ts);
//  - one version range per dependency across the workspace;
//  - every dependency is imported by the package's sources (no unused dependencies);
//  - no package imports a deployable, and no file reaches into another package's src;
//  - no source or test file is one that git ignores (a fresh clone would lack it);
//  - no import cycle inside a package, and a package with a map in its README imports across
//    its folders only as the map allows (check-layers.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCycles, checkMap } from './check-layers.mjs';

/** Packages that run as programs: nothing may import them. */
export const DEPLOYABLES = ['@mlbench/monolith', '@mlbench/gateway', '@mlbench/prediction'];

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Bare module specifiers a file imports (static, dynamic and re-exports). */
export function importsOf(text) {
  const specs = new Set();
  const re =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|import\.meta\.resolve\s*\(\s*)['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(re)) specs.add(m[1]);
  return specs;
}

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/** What a built path (./dist/x.js, ./dist/x.d.ts) is compiled from. */
function sourceFor(pkgDir, target) {
  const m = /^\.\/dist\/(.+)\.(?:d\.ts|js)$/.exec(target);
  if (!m) return existsSync(join(pkgDir, target)) ? null : target;
  return existsSync(join(pkgDir, 'src', `${m[1]}.ts`)) ? null : `${target} (no src/${m[1]}.ts to build it from)`;
}

function exportTargets(exp) {
  if (exp === undefined) return [];
  if (typeof exp === 'string') return [exp];
  return Object.values(exp).flatMap(exportTargets);
}

/**
 * Sources and tests that .gitignore hides: present here, missing from every clone (asks git,
 * so the lint command runs it and checkWorkspace does not).
 */
export function ignoredSources(root) {
  if (!existsSync(join(root, '.git'))) return [];
  const pkgs = (readJson(join(root, 'package.json')).workspaces ?? []).map((dir) => ({ abs: join(root, dir) }));
  const files = pkgs.flatMap((p) => ['src', 'test', 'bin'].flatMap((d) => sourceFiles(join(p.abs, d))));
  const r = spawnSync('git', ['check-ignore', '--no-index', '--stdin'], {
    cwd: root,
    input: files.map((f) => relative(root, f)).join('\n'),
    encoding: 'utf8',
  });
  return (r.stdout ?? '')
    .split('\n')
    .filter(Boolean)
    .map((f) => `${f}: ignored by .gitignore (a fresh clone would not have it)`);
}

export function checkWorkspace(root) {
  const problems = [];
  const rootPkg = readJson(join(root, 'package.json'));
  const workspaces = rootPkg.workspaces ?? [];
  const pkgs = workspaces.map((dir) => {
    const abs = join(root, dir);
    return { dir, abs, json: readJson(join(abs, 'package.json')), tsconfig: readJson(join(abs, 'tsconfig.json')) };
  });
  const byName = new Map(pkgs.map((p) => [p.json.name, p]));

  const rootRefs = (readJson(join(root, 'tsconfig.json')).references ?? []).map((r) => posix.normalize(r.path));
  for (const w of workspaces)
    if (!rootRefs.includes(posix.normalize(w))) problems.push(`tsconfig.json: references no ${w} (a workspace)`);
  for (const r of rootRefs)
    if (!workspaces.map((w) => posix.normalize(w)).includes(r))
      problems.push(`tsconfig.json: references ${r}, which is not a workspace`);

  const ranges = new Map();
  const noteRange = (where, name, range) => {
    if (!ranges.has(name)) ranges.set(name, new Map());
    ranges.get(name).set(range, [...(ranges.get(name).get(range) ?? []), where]);
  };
  for (const [name, range] of Object.entries({ ...rootPkg.dependencies, ...rootPkg.devDependencies }))
    noteRange('package.json', name, range);

  for (const p of pkgs) {
    const where = `${p.dir}/package.json`;
    const deps = { ...p.json.dependencies };
    for (const [name, range] of Object.entries({ ...deps, ...p.json.devDependencies })) noteRange(where, name, range);

    // References match the workspace dependencies.
    const wanted = Object.keys(deps)
      .filter((d) => byName.has(d))
      .map((d) => posix.normalize(relative(p.abs, byName.get(d).abs).split('\\').join('/')))
      .sort();
    const refs = (p.tsconfig.references ?? []).map((r) => posix.normalize(r.path)).sort();
    for (const w of wanted)
      if (!refs.includes(w)) problems.push(`${p.dir}/tsconfig.json: references no ${w}, which package.json depends on`);
    for (const r of refs)
      if (!wanted.includes(r))
        problems.push(`${p.dir}/tsconfig.json: references ${r}, which package.json does not depend on`);

    // Entry points exist once built.
    for (const field of ['main', 'types']) {
      if (p.json[field] === undefined) continue;
      const bad = sourceFor(p.abs, p.json[field]);
      if (bad) problems.push(`${where}: ${field} points at ${bad}`);
    }
    for (const target of exportTargets(p.json.exports)) {
      const bad = sourceFor(p.abs, target);
      if (bad) problems.push(`${where}: exports point at ${bad}`);
    }
    for (const [bin, target] of Object.entries(
      typeof p.json.bin === 'string' ? { bin: p.json.bin } : (p.json.bin ?? {}),
    )) {
      const bad = sourceFor(p.abs, target);
      if (bad) problems.push(`${where}: bin ${bin} points at ${bad}`);
    }

    // Imports: used dependencies, no deployables, no reaching into another package's src.
    const used = new Set();
    for (const file of sourceFiles(join(p.abs, 'src')).concat(sourceFiles(join(p.abs, 'bin')))) {
      const text = readFileSync(file, 'utf8');
      const rel = relative(root, file);
      for (const spec of importsOf(text)) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          const owner = pkgs.find((q) => target.startsWith(`${q.abs}/`));
          if (owner && owner !== p)
            problems.push(`${rel}: imports ${spec}, inside ${owner.json.name} (use its package name)`);
          continue;
        }
        if (spec.startsWith('node:')) continue;
        const name = packageOf(spec);
        used.add(name);
        if (DEPLOYABLES.includes(name) && name !== p.json.name)
          problems.push(`${rel}: imports the deployable ${name} (shared code belongs in a library)`);
        if (byName.has(name) && name !== p.json.name && !(name in deps))
          problems.push(`${rel}: imports ${name}, which ${where} does not depend on`);
      }
    }
    for (const name of Object.keys(deps))
      if (!used.has(name)) problems.push(`${where}: depends on ${name} but its sources never import it`);
    problems.push(...checkCycles(p.abs, p.dir), ...checkMap(p.abs, p.dir));
  }

  for (const [name, byRange] of ranges)
    if (byRange.size > 1)
      problems.push(
        `${name}: ${byRange.size} version ranges (${[...byRange].map(([r, w]) => `${r} in ${w.join(', ')}`).join('; ')}): use one`,
      );
  return problems;
}

/** The command: `node scripts/lint/check-workspace.mjs [ROOT]`; 0 when all agree, else 1 with a line a problem. */
export function main(argv, io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }) {
  const root = resolve(argv[0] ?? '.');
  const problems = [...checkWorkspace(root), ...ignoredSources(root)];
  for (const p of problems) io.err(`workspace: ${p}\n`);
  if (problems.length) return 1;
  io.out('workspace: metadata, references and imports agree\n');
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
