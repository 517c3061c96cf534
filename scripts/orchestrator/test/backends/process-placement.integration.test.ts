// test: as-user (it starts processes, applies faults or cleans up: CI runs it again as an ordinary user)
import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_MODEL_PATH } from '@mlbench/model';
import t from 'tap';
import { bootPlacement, deployProcesses, mayRaisePriority } from '../../src/backends/process.js';
import { allowedCpus, formatCpuList } from '../../src/sys/machine.js';
import { done, notYet, pollUntil } from '../../src/sys/poll.js';
import { which } from '../../src/sys/which.js';

t.test('boot placement: nice where it can be undone, other CPUs where it cannot', async (t) => {
  t.same(bootPlacement({}, true, [0, 1]), { nice: 0 }, 'an ordinary start is not special');
  t.same(bootPlacement({ nice: 10, serverCpus: '1' }, true, [0, 1]), { nice: 10 });
  if (which('taskset')) {
    t.same(bootPlacement({ nice: 10, serverCpus: '1' }, false, [0, 1]), { nice: 0, cpus: '0' });
    t.same(bootPlacement({ nice: 10, serverCpus: '2-3' }, false, [0, 1, 2, 3]), { nice: 0, cpus: '0-1' });
    t.same(bootPlacement({ nice: 10, serverCpus: '0-1' }, false, [0, 1]), { nice: 0 }, 'no other CPU');
  }
  t.same(bootPlacement({ nice: 10 }, false, [0, 1]), { nice: 0 }, 'unpinned: boots where it serves');
});

/** Affinity and nice of every thread of a process, from /proc. */
function threads(pid: number): { cpus: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { cpus: /^Cpus_allowed_list:\s*(\S+)/m.exec(status)![1]!, nice: Number(fields[16]) };
  });
}

const cpus = allowedCpus();
t.test(
  'a restarted replica serves on the servers’ CPUs at normal priority, as root or not',
  { skip: cpus.length < 2 || !which('taskset') ? 'needs taskset and two CPUs' : false },
  async (t) => {
    const serverCpus = formatCpuList(cpus.slice(1));
    const dep = await deployProcesses('microservices', 1, {
      modelPath: DEFAULT_MODEL_PATH,
      runId: `restart-placement-${process.pid}`,
      serverCpus,
    });
    t.teardown(() => dep.stop());
    t.comment(`uid ${process.getuid?.()}, may raise priority: ${mayRaisePriority()}`);
    const before = dep.components.find((c) => c.name === 'prediction-1')!.pid!;
    await dep.restart('prediction-1');
    const pid = dep.components.find((c) => c.name === 'prediction-1')!.pid!;
    t.not(pid, before, 'a new process');
    const ts = threads(pid);
    t.ok(ts.length > 1, `${ts.length} threads`);
    t.same([...new Set(ts.map((x) => x.cpus))], [serverCpus], 'every thread on the servers’ CPUs');
    t.same([...new Set(ts.map((x) => x.nice))], [0], 'every thread at nice 0');
    // The gateway marked the replica down while it was gone and readmits it on a passing
    // health check (1 s interval): bounded wait, then one answer.
    let last = 0;
    const status = await pollUntil(
      async () => {
        const res = await fetch(`${dep.entryUrls[0]}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ features: [1, 2, 3, 4, 5, 6, 7, 8] }),
        });
        await res.arrayBuffer();
        last = res.status;
        return res.status === 200 ? done(200) : notYet;
      },
      { timeoutMs: 10_000, intervalMs: 200, onTimeout: () => new Error(`the gateway still answers ${last}`) },
    );
    t.equal(status, 200, 'the gateway reaches the restarted replica');
  },
);
