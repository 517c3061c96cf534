// test: timed (it measures rates and latency on the two cores: it runs alone, never beside another test)
// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { CLI } from '../helpers/servers.js';

/** make bench-quick as a user runs it: the program, its files, and a capacity found at the SLO. */
const mlbench = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1' } });

t.test('bench-quick end to end: results.json with every field, report.html with charts', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'mlbench-quick-'));
  const r = mlbench(['bench', '--preset', 'quick', '--out', out, '--run-id', 'quick'], 170_000);
  t.equal(r.status, 0, `exit 0 (stderr tail: ${r.stderr.slice(-500)})`);
  t.match(r.stdout, /\| monolith \| 1 \| 1 \|/, 'terminal summary table');
  const results = JSON.parse(await readFile(join(out, 'quick', 'results.json'), 'utf8'));
  t.equal(results.schemaVersion, 1);
  t.equal(results.status, 'complete');
  const trials = results.runs.filter((x: any) => x.phase === 'trial');
  t.same(trials.map((x: any) => x.topology).sort(), ['microservices', 'monolith']);
  for (const run of trials) {
    for (const f of [
      'topology',
      'backend',
      'driver',
      'replicas',
      'scenario',
      'trial',
      'targetRps',
      'achievedRps',
      'requests',
      'errors',
      'dropped',
      'latencyMs',
      'hops',
      'resources',
    ])
      t.ok(f in run, `${run.topology}: ${f}`);
    for (const p of ['p50', 'p90', 'p99', 'p999', 'max', 'mean']) t.type(run.latencyMs[p], 'number');
    t.type(run.errors.count, 'number');
    t.type(run.errors.byStatus, 'object');
    t.ok(run.valid, `${run.topology} trial valid`);
    for (const [name, res] of Object.entries<any>(run.resources)) {
      t.type(res.cpuSeconds, 'number', `${name} cpuSeconds`);
      t.type(res.cpuSecondsPer1kRequests, 'number');
      t.ok(res.rssMaxMB > 10, `${name} rssMaxMB ${res.rssMaxMB}`);
    }
    const servers = Object.keys(run.resources).filter((n) => n !== 'driver' && n !== 'servers');
    t.same(servers.sort(), run.topology === 'monolith' ? ['monolith-1'] : ['gateway-1', 'prediction-1']);
    t.same(Object.keys(run.hops).sort(), run.topology === 'monolith' ? ['monolith'] : ['gateway', 'prediction']);
    t.ok(
      Object.values<any>(run.hops).every((h) => h.requests >= run.requests),
      'server histograms saw every request',
    );
  }
  t.same(
    results.capacity.map((c: any) => c.topology).sort(),
    ['microservices', 'monolith'],
    'a capacity entry per topology',
  );
  t.ok(
    results.capacity.every((c: any) => c.rateRps > 0),
    'both found a passing rate',
  );
  const html = await readFile(join(out, 'quick', 'report.html'), 'utf8');
  t.ok((html.match(/<svg/g) ?? []).length >= 5, 'report.html carries its charts inline');
  t.notMatch(html, /<script/, 'no scripts: renders anywhere');
  t.match(html, /AMD|Intel|CPU/, 'names the machine');
  const md = await readFile(join(out, 'quick', 'report.md'), 'utf8');
  t.match(md, /50 ms for the monolith and 70 ms/, 'answers the article');
  const rerender = mlbench(['report', join(out, 'quick')]);
  t.equal(rerender.status, 0, 'mlbench report re-renders');
});
