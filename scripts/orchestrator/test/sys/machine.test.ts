import t from 'tap';
import { formatCpuList, parseCpuList } from '../../src/sys/machine.js';

t.test('CPU lists: parsed and folded as the kernel writes them', async (t) => {
  t.same(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  t.equal(formatCpuList([1, 2, 3, 5, 7, 8]), '1-3,5,7-8');
  t.throws(() => parseCpuList('a-b'), /bad CPU list/);
});
