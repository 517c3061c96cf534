import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';

const haveFlask =
  spawnSync('/usr/bin/python3', ['-c', 'import flask, sklearn, requests, joblib'], { stdio: 'ignore' }).status === 0;

// CI installs Debian's python3-flask & co. (.ci/run): there a missing one is a failure, not a skip.
t.test(
  "the article's Flask services and ours, started the same way, in one run",
  { skip: !haveFlask && !process.env.CI ? 'needs /usr/bin/python3 with flask, sklearn, requests, joblib' : false },
  async (t) => {
    t.ok(haveFlask, 'Debian python3 with flask, sklearn, requests and joblib');
    execFileSync(join(ROOT, 'scripts/article/prepare.sh'), { stdio: ['ignore', 'ignore', 'pipe'] });
    const dir = await mkdtemp(join(tmpdir(), 'mlbench-article-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const scenario = join(dir, 'short.json');
    await writeFile(
      scenario,
      JSON.stringify({ executor: 'constant-arrival-rate', rate: 60, duration: '10s', warmup: '2s' }),
    );
    const files = ['reference/article/article.yaml', 'reference/mlbench.yaml'].map((f) => join(ROOT, f)).join(',');
    const r = await runCli([
      'bench',
      '--backend',
      'command',
      '--deployment',
      files,
      '--scenario',
      scenario,
      '--no-capacity',
      '--trials',
      '1',
      '--run-id',
      'art',
      '--out',
      dir,
    ]);
    t.equal(r.code, 0, r.err.slice(-800));
    const res = JSON.parse(await readFile(join(dir, 'art', 'results.json'), 'utf8'));
    const trials = res.runs.filter((x: { phase: string }) => x.phase === 'trial');
    t.same(
      trials.map((x: { implementation: string; topology: string }) => `${x.implementation} ${x.topology}`),
      ['article-flask monolith', 'article-flask microservices', 'mlbench monolith', 'mlbench microservices'],
      'trials alternate over implementations and topologies',
    );
    for (const x of trials) t.equal(x.errors.count, 0, `${x.implementation} ${x.topology}: no errors`);
    const flask = trials.find(
      (x: { implementation: string; topology: string }) =>
        x.implementation === 'article-flask' && x.topology === 'monolith',
    );
    t.ok(
      flask.resources['monolith-1'].rssMaxMB > 30,
      'the Flask process sampled (Python with scikit-learn holds tens of MB)',
    );
    const md = await readFile(join(dir, 'art', 'report.md'), 'utf8');
    t.match(md, /### The article’s claim, its code, and ours/);
    t.match(md, /\| the article’s claim \(its Flask code, its machine\) \| 50 \| 70 \| \+20 \|/);
    t.match(md, /\| article-flask, measured here \| [\d.]+ \| [\d.]+ \| [+-][\d.]+ \| [\d.]+ \|/);
    t.match(md, /\| ours \(mlbench’s Fastify services\), measured here \| [\d.]+ \| [\d.]+ \|/);
    t.match(md, /\| article-flask monolith \| 1 \| 1 \|/, 'the headline names the implementation');
  },
);
