import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

t.test('bench --repeat 2: two runs in their own folders and the spread between them', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'mlbench-repeat-'));
  const scenario = join(out, 'short.json');
  await writeFile(
    scenario,
    JSON.stringify({ executor: 'constant-arrival-rate', rate: 300, duration: '2s', warmup: '1s' }),
  );
  const r = await runCli([
    'bench',
    '--scenario',
    scenario,
    '--topology',
    'monolith',
    '--no-capacity',
    '--no-sweep',
    '--trials',
    '1',
    '--repeat',
    '2',
    '--run-id',
    'rep',
    '--out',
    out,
  ]);
  t.equal(r.code, 0, r.err.slice(-500));
  for (const id of ['rep-r1', 'rep-r2']) {
    const res = JSON.parse(await readFile(join(out, id, 'results.json'), 'utf8'));
    t.equal(res.status, 'complete', `${id} complete`);
  }
  const summary = JSON.parse(await readFile(join(out, 'rep.repeat.json'), 'utf8'));
  t.equal(summary.repeats, 2);
  const p50 = summary.rows[0].figures.p50Ms;
  t.equal(p50.values.length, 2, 'p50 from both repeats');
  t.ok(p50.values.every((v: number) => v > 0 && Number.isFinite(v)));
  t.type(p50.cv, 'number');
  t.match(r.out, /Spread over 2 repeats \(rep-r1, rep-r2\)/, 'the table is printed');
  t.match(await readFile(join(out, 'rep.repeat.md'), 'utf8'), /\| monolith×1 @ 300 req\/s \| p50Ms \|/);
  const sets = await runCli([
    'compare',
    join(out, 'rep'),
    `${join(out, 'rep-r1')},${join(out, 'rep-r2')}`,
    '--no-html',
  ]);
  t.equal(sets.code, 0, sets.err);
  t.match(
    sets.out,
    /compare A rep \(2 runs: rep-r1, rep-r2\) → B .* \(2 runs: rep-r1, rep-r2\)/,
    'a repeat set, and a list of runs',
  );
  t.match(sets.out, /A: 2 runs, then each run’s blocks or trials/);
  const again = await runCli(['bench', '--repeat', '0']);
  t.not(again.code, 0);
  t.match(again.err, /^mlbench: .*--repeat/, 'a bad count: one line');
});
