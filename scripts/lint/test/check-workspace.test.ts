import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { cyclesOf, parseMap } from '../check-layers.mjs';
import { checkWorkspace, importsOf, main } from '../check-workspace.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const _script = join(here, '..', 'check-workspace.mjs');

type Files = Record<string, unknown>;

/** A two-package workspace that agrees with itself; each test breaks one thing. */
function workspace(t: Test, change: (f: Files) => void = () => {}): string {
  const files: Files = {
    'package.json': { workspaces: ['libs/a', 'apps/gateway'], devDependencies: { typescript: '~5.9.3' } },
    'tsconfig.json': { files: [], references: [{ path: 'libs/a' }, { path: 'apps/gateway' }] },
    'libs/a/package.json': {
      name: '@mlbench/a',
      main: './dist/index.js',
      types: './dist/index.d.ts',
      dependencies: { fastify: '^5.12.8' },
    },
    'libs/a/tsconfig.json': { include: ['src'] },
    'libs/a/src/index.ts': "import Fastify from 'fastify';\nexport const a = Fastify;\n",
    'apps/gateway/package.json': {
      name: '@mlbench/gateway',
      main: './dist/app.js',
      dependencies: { '@mlbench/a': '0.1.0', fastify: '^5.12.8' },
    },
    'apps/gateway/tsconfig.json': { references: [{ path: '../../libs/a' }] },
    'apps/gateway/src/app.ts':
      "import { a } from '@mlbench/a';\nimport type { FastifyInstance } from 'fastify';\nexport const g = a;\n",
  };
  change(files);
  const root = mkdtempSync(join(tmpdir(), 'mlbench-ws-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    if (content === undefined) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return root;
}

/** A layered package: low/ imports nothing, high/ may import low/; index.ts is the entry point. */
function withMap(f: Files): void {
  f['libs/a/README.md'] = [
    '# a',
    '',
    '## Map',
    '',
    '| folder | what | may import |',
    '|---|---|---|',
    '| `index.ts` | entry | anything |',
    '| `low/` | the bottom | nothing |',
    '| `high/` | the top | `low/` |',
    '',
  ].join('\n');
  f['libs/a/src/low/base.ts'] = 'export const base = 1;\n';
  f['libs/a/src/high/top.ts'] = "import { base } from '../low/base.js';\nexport const top = base;\n";
}

const pkg = (f: Files, path: string) => f[path] as Record<string, any>;

t.test('this repository passes', async (t) => {
  t.same(checkWorkspace(repo), []);
});

t.test('a consistent workspace passes', async (t) => {
  t.same(checkWorkspace(workspace(t)), []);
  t.same(checkWorkspace(workspace(t, withMap)), [], 'with a map its imports follow');
});

t.test('cycles are found whole, and maps are read', async (t) => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
  ]);
  t.same(cyclesOf(g), [
    ['a', 'b', 'c', 'a'],
    ['e', 'e'],
  ]);
  t.same(
    cyclesOf(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  );
  const rows = parseMap(
    '# x\n\n## Map\n\n| folder | what | may import |\n|---|---|---|\n| `a/`, `b/` | two | `c/`, `d.ts` |\n| `main.ts` | entry | anything |\n\n## Next\n| `z/` | not in the map | nothing |\n',
  );
  t.same(rows, [
    { folder: 'a/', allows: ['c/', 'd.ts'], anything: false },
    { folder: 'b/', allows: ['c/', 'd.ts'], anything: false },
    { entries: ['main.ts'], allows: [], anything: true },
  ]);
});

t.test('each kind of drift is named', async (t) => {
  const cases: [string, (f: Files) => void, RegExp][] = [
    [
      'tsconfig omits a dependency',
      (f) => {
        pkg(f, 'apps/gateway/tsconfig.json').references = [];
      },
      /apps\/gateway\/tsconfig.json: references no \.\.\/\.\.\/libs\/a, which package.json depends on/,
    ],
    [
      'tsconfig references what is not a dependency',
      (f) => {
        pkg(f, 'libs/a/tsconfig.json').references = [{ path: '../../apps/gateway' }];
      },
      /libs\/a\/tsconfig.json: references \.\.\/\.\.\/apps\/gateway, which package.json does not depend on/,
    ],
    [
      'root solution misses a workspace',
      (f) => {
        pkg(f, 'tsconfig.json').references = [{ path: 'libs/a' }];
      },
      /tsconfig.json: references no apps\/gateway/,
    ],
    [
      'main points at nothing',
      (f) => {
        pkg(f, 'libs/a/package.json').main = './dist/missing.js';
      },
      /main points at \.\/dist\/missing.js/,
    ],
    [
      'exports point at nothing',
      (f) => {
        pkg(f, 'libs/a/package.json').exports = { './x': './dist/x.js' };
      },
      /exports point at \.\/dist\/x.js/,
    ],
    [
      'two version ranges',
      (f) => {
        pkg(f, 'apps/gateway/package.json').dependencies.fastify = '^5.6.0';
      },
      /fastify: 2 version ranges/,
    ],
    [
      'an unused dependency',
      (f) => {
        pkg(f, 'libs/a/package.json').dependencies['prom-client'] = '^15.1.3';
      },
      /libs\/a\/package.json: depends on prom-client but its sources never import it/,
    ],
    [
      'a library imports a deployable',
      (f) => {
        f['libs/a/src/extra.ts'] = "export { g } from '@mlbench/gateway';\n";
      },
      /libs\/a\/src\/extra.ts: imports the deployable @mlbench\/gateway/,
    ],
    [
      'reaching into another package’s src',
      (f) => {
        f['apps/gateway/src/peek.ts'] = "export { a } from '../../../libs/a/src/index.js';\n";
      },
      /apps\/gateway\/src\/peek.ts: imports .*inside @mlbench\/a/,
    ],
    [
      'an import cycle (of types too)',
      (f) => {
        f['libs/a/src/x.ts'] = "import type { Y } from './y.js';\nexport interface X { y?: Y }\n";
        f['libs/a/src/y.ts'] = "import type { X } from './x.js';\nexport interface Y { x?: X }\n";
      },
      /libs\/a: import cycle src\/x.ts → src\/y.ts → src\/x.ts/,
    ],
    [
      'an import the map does not allow',
      (f) => {
        withMap(f);
        f['libs/a/src/low/base.ts'] = "import { top } from '../high/top.js';\nexport const base = top;\n";
      },
      /libs\/a\/src\/low\/base.ts: imports high\/top.ts, which the map's row for low\/ does not allow/,
    ],
    [
      'a folder the map has no row for',
      (f) => {
        withMap(f);
        f['libs/a/src/stray/s.ts'] = 'export const s = 1;\n';
      },
      /libs\/a\/src\/stray\/: a folder with no row/,
    ],
    [
      'a loose file that is not an entry point',
      (f) => {
        withMap(f);
        f['libs/a/src/helper.ts'] = 'export const h = 1;\n';
      },
      /libs\/a\/src\/helper.ts: a loose file that the map does not name as an entry point/,
    ],
  ];
  for (const [name, change, expected] of cases) {
    const problems = checkWorkspace(workspace(t, change));
    t.match(problems.join('\n'), expected, name);
  }
});

t.test('the lint command fails on drift, with the reason, and make lint runs it', async (t) => {
  const root = workspace(t, (f) => {
    pkg(f, 'apps/gateway/tsconfig.json').references = [];
  });
  const run = (dir: string) => {
    let out = '';
    let err = '';
    const code = main([dir], { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  };
  const bad = run(root);
  t.equal(bad.code, 1);
  t.match(bad.err, /workspace: apps\/gateway\/tsconfig.json: references no/);
  const good = run(workspace(t));
  t.equal(good.code, 0, good.err);
  t.match(good.out, /agree/);
  const makefile = readFileSync(join(repo, 'Makefile'), 'utf8');
  t.match(makefile.slice(makefile.indexOf('\nlint:')), /^\tnode scripts\/lint\/check-workspace\.mjs/m);
});

t.test('imports are found in every form', async (t) => {
  const text = [
    "import a from 'a';",
    "import type { B } from '@scope/b/sub';",
    "export * from 'c';",
    "const d = await import('d');",
    "import 'e';",
    "new URL('./x', import.meta.resolve('@scope/f'));",
  ].join('\n');
  t.same([...importsOf(text)].sort(), ['@scope/b/sub', '@scope/f', 'a', 'c', 'd', 'e']);
});
