// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ROOT } from '../helpers/paths.js';
import { CLI, processesOfRun, spawnCliUntilDeployed } from '../helpers/servers.js';

const mlbench = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout, env: { ...process.env, NO_COLOR: '1' } });

t.test('npx mlbench, as the README says, runs the CLI from the repository root', async (t) => {
  // npm links a bin only if its target exists at install time; on a fresh clone that is
  // before anything is built, so the linked entry point must be a committed file.
  const root = ROOT;
  const r = spawnSync('npx', ['--no-install', 'mlbench', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /Usage: mlbench/);
  t.match(r.stdout, /bench \[options\]/);
  // The program as a process: a refusal is one line and a non-zero exit (every other refusal is checked in process).
  const bad = mlbench(['bench', '--bogus']);
  t.not(bad.status, 0);
  t.match(bad.stderr.trim(), /^mlbench: .*unknown option '--bogus'/);
  t.equal(mlbench(['bench', '--help']).status, 0, '--help exits 0');
});

t.test('Ctrl-C during a bench: no process left, results marked incomplete', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'mlbench-sigint-'));
  const scenario = join(out, 'long.json');
  await writeFile(
    scenario,
    JSON.stringify({ executor: 'constant-arrival-rate', rate: 100, duration: '60s', warmup: '0s' }),
  );
  const runId = `sigint-${process.pid}`;
  const {
    child,
    exited,
    stderr: err,
  } = await spawnCliUntilDeployed(['bench', '--scenario', scenario, '--run-id', runId, '--out', out, '--no-capacity']);
  const stderr = err();
  t.match(stderr, /deployed/, 'the topologies came up');
  await sleep(1500);
  t.ok(processesOfRun(runId).length >= 4, 'services and driver are running (monolith, gateway, prediction, driver)');
  // Only the CLI gets the signal (not its process group): it must stop everything itself.
  child.kill('SIGINT');
  const code = await exited;
  t.equal(code, 130, 'exit code 130 after an interrupt');
  await sleep(300);
  t.same(processesOfRun(runId), [], 'no process of the run is left');
  const results = JSON.parse(await readFile(join(out, runId, 'results.json'), 'utf8'));
  t.equal(results.status, 'incomplete');
  t.equal(results.statusReason, 'interrupted by signal');
  t.ok(existsSync(join(out, runId, 'report.html')), 'a report of what was measured');
  const again = mlbench(['bench', '--scenario', scenario, '--run-id', runId, '--out', out]);
  t.not(again.status, 0, 'the same run id is refused');
  t.match(again.stderr, /already exists; refusing to overwrite it/);
});
