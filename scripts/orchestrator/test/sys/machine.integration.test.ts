import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { allowedCpus, choosePinning } from '../../src/sys/machine.js';
import { which } from '../../src/sys/which.js';
import { DIST } from '../helpers/paths.js';

t.test('auto pinning uses the CPUs this process may use, not the machine’s', async (t) => {
  t.same(choosePinning('auto', true, [2, 3]), {
    driverCpus: '2',
    serverCpus: '3',
    description: 'driver on CPU 2, all servers on CPU 3 (taskset)',
  });
  t.equal(choosePinning('auto', true, [4, 5, 6, 9]).serverCpus, '5-6,9');
  t.match(choosePinning('auto', true, [1]).description, /only one CPU allowed \(1\)/);
  t.notOk(choosePinning('auto', true, [1]).driverCpus);
  t.ok(allowedCpus().length >= 1);
});

t.test('inside a one-CPU affinity mask, auto pinning pins nothing', { skip: !which('taskset') }, async (t) => {
  const machine = join(DIST, 'sys/machine.js');
  const last = allowedCpus().at(-1)!;
  const out = execFileSync(
    'taskset',
    [
      '-c',
      String(last),
      process.execPath,
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(machine)}); console.log(JSON.stringify([m.allowedCpus(), m.choosePinning('auto', true)]));`,
    ],
    { encoding: 'utf8' },
  );
  const [cpus, pinning] = JSON.parse(out);
  t.same(cpus, [last]);
  t.notOk(pinning.driverCpus, 'no CPU outside the mask is chosen');
});
