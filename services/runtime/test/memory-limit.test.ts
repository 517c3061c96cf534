import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BaseConfig, loadConfig } from '../src/config.js';
import { defaultHeapShedMB, memoryLimitBytes, sheddingFrom } from '../src/plugin.js';

function cgroup(t: Test, files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

t.test('the memory limit is read from cgroup v2 and v1, and "unlimited" is none', async (t) => {
  t.equal(memoryLimitBytes(cgroup(t, { 'memory.max': '268435456\n' })), 268435456);
  t.equal(memoryLimitBytes(cgroup(t, { 'memory.max': 'max\n' })), undefined);
  t.equal(memoryLimitBytes(cgroup(t, { 'memory/memory.limit_in_bytes': '536870912\n' })), 536870912);
  t.equal(memoryLimitBytes(cgroup(t, { 'memory/memory.limit_in_bytes': '9223372036854771712\n' })), undefined);
  t.equal(memoryLimitBytes(cgroup(t, {})), undefined);
});

t.test('heap shedding can fire inside a container: its threshold follows the limit', async (t) => {
  t.equal(defaultHeapShedMB(256 * 2 ** 20), 153, 'under a 256 MB limit: 153 MB, below what the kernel kills at');
  t.equal(defaultHeapShedMB(undefined), 512);
  const unset = loadConfig(BaseConfig, { PORT: '0' });
  t.equal(unset.SHED_HEAP_USED_MB, undefined);
  t.equal(sheddingFrom(unset).maxHeapUsedMB, defaultHeapShedMB(memoryLimitBytes()));
  t.equal(sheddingFrom(loadConfig(BaseConfig, { PORT: '0', SHED_HEAP_USED_MB: '100' })).maxHeapUsedMB, 100);
  t.equal(sheddingFrom(loadConfig(BaseConfig, { PORT: '0', SHED_HEAP_USED_MB: '0' })).maxHeapUsedMB, 0, '0 disables');
});
