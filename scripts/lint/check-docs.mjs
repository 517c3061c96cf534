#!/usr/bin/env node
// Every link and every repository path the docs name exists, or `make lint` fails. Checked in
// every Markdown file the repository holds (not node_modules, dist, or the runs in results/):
//  - relative links [text](path) and [text](path#anchor): the file or folder exists, and the
//    anchor is a heading of the linked Markdown file (GitHub's slugs);
//  - paths in backticks that start at a top-level folder of the repository
//    (`scripts/lint/check-docs.mjs`, `compose/monolith.yaml`): they exist.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SKIP = new Set(['node_modules', 'dist', '.git', 'artifacts']);
const TOP = ['services', 'scripts', 'compose', 'docs', 'loadtests', 'deploy', 'reference', 'dashboards', '.ci'];

function markdownFiles(dir, root = dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    // results/ at the top holds bench runs' reports (git-ignored), not docs.
    if (SKIP.has(name) || (dir === root && name === 'results')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...markdownFiles(p, root));
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

/** GitHub's heading anchor: lower case, punctuation dropped (but - and _), spaces to -. */
export function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file) {
  const anchors = new Set();
  let fenced = false;
  const seen = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1].replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n ? `${base}-${n}` : base);
  }
  return anchors;
}

/** Links and repository paths of one Markdown text, outside fenced code. */
export function referencesOf(text) {
  const links = [];
  const paths = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    for (const m of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) links.push(m[1]);
    for (const m of line.matchAll(/`([^`\s]+)`/g)) {
      const p = m[1].replace(/[.,:;]$/, '');
      if (TOP.some((t) => p.startsWith(`${t}/`)) && !/[*<>{}$|]|\.\.\.|…/.test(p)) paths.push(p);
    }
  }
  return { links, paths };
}

/** Paths that exist only once made (git-ignored: results/, compose/.grafana-admin-password). */
function ignoredPaths(root) {
  const file = join(root, '.gitignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.includes('*'));
}

export function checkDocs(root) {
  const problems = [];
  const made = ignoredPaths(root);
  for (const file of markdownFiles(root)) {
    const rel = relative(root, file);
    const { links, paths } = referencesOf(readFileSync(file, 'utf8'));
    for (const link of links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // http:, https:, mailto:
      const [target, anchor] = link.split('#');
      const abs = target ? resolve(dirname(file), decodeURIComponent(target)) : file;
      if (!existsSync(abs)) {
        problems.push(`${rel}: links to ${link}, which does not exist`);
        continue;
      }
      if (anchor && abs.endsWith('.md') && !anchorsOf(abs).has(anchor))
        problems.push(`${rel}: links to ${link}, which has no heading #${anchor}`);
    }
    for (const p of paths) {
      const bare = p.replace(/:\d+(-\d+)?$/, '');
      if (made.some((m) => bare === m.replace(/\/$/, '') || bare.startsWith(m.endsWith('/') ? m : `${m}/`))) continue;
      if (!existsSync(join(root, bare))) problems.push(`${rel}: names ${p}, which does not exist`);
    }
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkDocs(resolve(process.argv[2] ?? '.'));
  for (const p of problems) process.stderr.write(`docs: ${p}\n`);
  if (problems.length) process.exitCode = 1;
  else process.stdout.write('docs: every link and path exists\n');
}
