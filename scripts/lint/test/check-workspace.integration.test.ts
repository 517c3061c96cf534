import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { ignoredSources } from '../check-workspace.mjs';

t.test('a source file that .gitignore hides is named (a fresh clone would lack it)', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mlbench-ignored-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ workspaces: ['pkg'] }),
    '.gitignore': 'results/\n',
    'pkg/src/index.ts': 'export {};\n',
    'pkg/src/results/store.ts': 'export {};\n',
    'pkg/test/results/store.test.ts': 'export {};\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  execFileSync('git', ['init', '-q'], { cwd: root });
  t.same(ignoredSources(root), [
    'pkg/src/results/store.ts: ignored by .gitignore (a fresh clone would not have it)',
    'pkg/test/results/store.test.ts: ignored by .gitignore (a fresh clone would not have it)',
  ]);
  writeFileSync(join(root, '.gitignore'), '/results/\n');
  t.same(ignoredSources(root), [], 'a top-level results/ only');
});
