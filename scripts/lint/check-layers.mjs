// Import structure, checked on sources (plain Node, no build needed):
//  - no import cycle among the files of any workspace package (type-only imports count: a
//    cycle of types is a type in the wrong file);
//  - in a package whose README has a "## Map" table, every folder of src/ has a row, every
//    file loose in src/ is named in the entry points' row, and an import from one folder into
//    another is one that the importing folder's row allows.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Relative import specifiers of a file (static, dynamic, re-exports, `import type`). */
export function relativeImportsOf(text) {
  const specs = new Set();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) specs.add(m[1]);
  return specs;
}

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The source file an import names: ./x.js is compiled from ./x.ts. */
function resolveSource(from, spec) {
  const abs = resolve(dirname(from), spec);
  for (const candidate of [abs.replace(/\.js$/, '.ts'), abs.replace(/\.mjs$/, '.mts'), abs, `${abs}.ts`])
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return undefined;
}

/** The import graph of one folder's files: file → files it imports (inside that folder). */
export function importGraph(srcDir) {
  const graph = new Map();
  for (const file of sourceFiles(srcDir)) {
    const targets = [];
    for (const spec of relativeImportsOf(readFileSync(file, 'utf8'))) {
      const target = resolveSource(file, spec);
      if (target?.startsWith(srcDir + sep)) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** Every cycle of a graph, one per strongly connected component (Tarjan), as a path a → … → a. */
export function cyclesOf(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const cycles = [];
  const visit = (v) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!meta.has(w)) {
        visit(w);
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
      } else if (meta.get(w).onStack) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
    }
    if (meta.get(v).low !== meta.get(v).index) return;
    const component = [];
    let w;
    do {
      w = stack.pop();
      meta.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    const selfLoop = (graph.get(v) ?? []).includes(v);
    if (component.length > 1 || selfLoop) cycles.push(pathThrough(graph, new Set(component), v));
  };
  for (const v of graph.keys()) if (!meta.has(v)) visit(v);
  return cycles;
}

/** A shortest cycle through `start` inside a component (breadth first), for the message. */
function pathThrough(graph, inside, start) {
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * The "## Map" table of a package README: rows of `folder/` (or the entry files, `a.ts`,
 * `b.ts`) | what lives there | what it may import (`x/`, `y/`, "nothing" or "anything").
 */
export function parseMap(readme) {
  const section = /^## Map\s*$([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme);
  if (!section) return undefined;
  const rows = [];
  for (const line of section[1].split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || /^-+$/.test(cells[1]) || !cells[1].includes('`')) continue;
    const names = [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const allowCell = cells[cells.length - 2];
    const anything = /\banything\b/i.test(allowCell);
    const allows = [...allowCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    if (names.every((n) => n.endsWith('/'))) for (const n of names) rows.push({ folder: n, allows, anything });
    else rows.push({ entries: names, allows, anything });
  }
  return rows;
}

/** The folder a file belongs to for the map: its most specific row (`driver/worker/` before `driver/`). */
function rowOf(rows, relFile) {
  return rows
    .filter((r) => r.folder && relFile.startsWith(r.folder))
    .sort((a, b) => b.folder.length - a.folder.length)[0];
}

const allowed = (row, relTarget) =>
  row.anything ||
  (row.folder && relTarget.startsWith(row.folder)) ||
  row.allows.some((a) => (a.endsWith('/') ? relTarget.startsWith(a) : relTarget === a));

/** Problems with a package's imports against its README's map (none when it has no map). */
export function checkMap(pkgDir, label = pkgDir) {
  const readmePath = join(pkgDir, 'README.md');
  const rows = existsSync(readmePath) ? parseMap(readFileSync(readmePath, 'utf8')) : undefined;
  if (!rows) return [];
  const src = join(pkgDir, 'src');
  const problems = [];
  const entries = new Set(rows.flatMap((r) => r.entries ?? []));
  const posix = (p) => p.split(sep).join('/');
  for (const name of readdirSync(src)) {
    const p = join(src, name);
    if (statSync(p).isDirectory()) {
      if (!rowOf(rows, `${name}/`))
        problems.push(`${label}/src/${name}/: a folder with no row in ${label}/README.md's map`);
    } else if (!entries.has(name))
      problems.push(`${label}/src/${name}: a loose file that the map does not name as an entry point`);
  }
  for (const [file, targets] of importGraph(src)) {
    const rel = posix(relative(src, file));
    if (!rel.includes('/')) continue; // entry points import anything
    const row = rowOf(rows, rel);
    if (!row) continue; // reported above
    for (const target of targets) {
      const relTarget = posix(relative(src, target));
      if (!allowed(row, relTarget))
        problems.push(
          `${label}/src/${rel}: imports ${relTarget}, which the map's row for ${row.folder} does not allow`,
        );
    }
  }
  return problems;
}

/** Cycles in every workspace package's src/ (and its bin/), each as one line. */
export function checkCycles(pkgDir, label = pkgDir) {
  const problems = [];
  for (const dir of ['src', 'bin']) {
    const abs = join(pkgDir, dir);
    for (const cycle of cyclesOf(importGraph(abs)))
      problems.push(`${label}: import cycle ${cycle.map((f) => relative(pkgDir, f).split(sep).join('/')).join(' → ')}`);
  }
  return problems;
}
