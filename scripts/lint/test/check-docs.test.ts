import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { checkDocs, referencesOf, slug } from '../check-docs.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function tree(t: Test, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mlbench-docs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

t.test('this repository passes', async (t) => {
  t.same(checkDocs(repo), []);
});

t.test('a broken link, a missing anchor and a missing path are each named', async (t) => {
  const root = tree(t, {
    'README.md': '# Top\n\nSee [the guide](docs/guide.md#setting-it-up) and [gone](docs/gone.md).\n',
    'docs/guide.md':
      '# Guide\n\n## Setting it up\n\nRun `scripts/run.sh` and `scripts/missing.sh`; results in `results/x`.\n',
    'scripts/run.sh': 'true\n',
    '.gitignore': 'results/\n',
  });
  t.same(checkDocs(root), [
    'README.md: links to docs/gone.md, which does not exist',
    'docs/guide.md: names scripts/missing.sh, which does not exist',
  ]);
  writeFileSync(join(root, 'README.md'), '# Top\n\n[x](docs/guide.md#nope)\n');
  t.same(checkDocs(root), [
    'README.md: links to docs/guide.md#nope, which has no heading #nope',
    'docs/guide.md: names scripts/missing.sh, which does not exist',
  ]);
});

t.test('what counts as a reference', async (t) => {
  t.equal(
    slug('How far to trust a figure: driver workers and `--repeat`'),
    'how-far-to-trust-a-figure-driver-workers-and---repeat',
  );
  const r = referencesOf(
    'A [link](a.md) and [web](https://example.org), `services/x/`, `npx mlbench`, `docs/*.md`.\n```\n[not](fenced.md) `services/fenced`\n```\n',
  );
  t.same(r.links, ['a.md', 'https://example.org']);
  t.same(r.paths, ['services/x/']);
});
