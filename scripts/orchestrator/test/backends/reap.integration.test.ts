// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DriverProcess } from '../../src/driver/worker-process.js';
import { commandLineOf, pidAlive } from '../../src/sys/child.js';
import { which } from '../../src/sys/which.js';
import { runCli } from '../helpers/cli.js';

t.test('a process is alive whoever owns it: EPERM is not death', async (t) => {
  // pid 1 always exists; an ordinary user may not signal it (EPERM), root may.
  t.equal(pidAlive(1), true, `pid 1 is alive for uid ${process.getuid?.()}`);
  t.equal(pidAlive(process.pid), true);
  t.equal(pidAlive(2 ** 22 + 12345), false, 'a pid beyond pid_max is gone');
});

t.test('mlbench down never signals a process that is not mlbench up', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mlbench-down-'));
  const cwd = process.cwd();
  process.chdir(dir);
  const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(async () => {
    bystander.kill('SIGKILL');
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  });
  await mkdir('.mlbench');
  // A stale state file whose pid now belongs to something else.
  await writeFile(join('.mlbench', 'up.json'), JSON.stringify({ pid: bystander.pid }));
  const r = await runCli(['down']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, new RegExp(`pid ${bystander.pid} is not mlbench up \\(it runs: sleep 30\\); left alone`));
  t.equal(bystander.exitCode, null);
  t.ok(pidAlive(bystander.pid!), 'the bystander still runs');
  t.equal(commandLineOf(bystander.pid!), 'sleep 30');
  await t.rejects(readFile(join('.mlbench', 'up.json')), 'state cleared');
  await writeFile(join('.mlbench', 'up.json'), JSON.stringify({ pid: 'x' }));
  const bad = await runCli(['down']);
  t.equal(bad.code, 1);
  t.match(bad.err, /^mlbench: .*up\.json names no process/);
});

t.test(
  'a driver that dies at start-up is an error of its first run, not a crash',
  { skip: !which('taskset') },
  async (t) => {
    let unhandled: unknown;
    const onUnhandled = (reason: unknown) => {
      unhandled = reason;
    };
    process.on('unhandledRejection', onUnhandled);
    t.teardown(() => process.off('unhandledRejection', onUnhandled));
    // taskset refuses a CPU that does not exist, so the worker never starts.
    const driver = new DriverProcess({ cpus: '4095', runId: 'cleanup-safety' });
    await driver.proc.exited;
    await new Promise((r) => setTimeout(r, 100));
    t.equal(unhandled, undefined, 'no unhandled rejection');
    await t.rejects(
      driver.run({
        label: 'never',
        targets: ['http://127.0.0.1:1'],
        payload: { features: 8, batchSize: 1, seed: 1 },
        mode: { kind: 'closed', vus: 1, durationMs: 10 },
        connectionsPerTarget: 1,
        timeoutMs: 100,
      }),
      /driver process exited unexpectedly/,
    );
    await driver.close();
  },
);
