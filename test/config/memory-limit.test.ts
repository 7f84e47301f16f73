/**
 * MEMORY_BUDGET_BYTES's default comes from the container's cgroup memory limit (v2, then v1), else the machine.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/config.js';
import {
  MEMORY_BUDGET_SHARE,
  cgroupMemoryLimit,
  defaultMemoryBudget,
  memoryBudgetFor,
} from '../../src/config/memory-limit.js';

t.test('cgroup v2 then v1; "max", a v1 "unlimited" or a missing file mean no limit', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cgroup-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const v2 = file('memory.max', '1073741824\n');
  const v2max = file('memory.max.unlimited', 'max\n');
  const v1 = file('memory.limit_in_bytes', '536870912\n');
  const v1none = file('memory.limit_in_bytes.unlimited', '9223372036854771712\n');
  const missing = join(dir, 'absent');
  t.equal(cgroupMemoryLimit([v2, v1]), 2 ** 30, 'v2 first');
  t.equal(cgroupMemoryLimit([v2max, v1]), 2 ** 29, 'v2 unlimited: v1 is read');
  t.equal(cgroupMemoryLimit([missing, v1]), 2 ** 29);
  t.equal(cgroupMemoryLimit([v2max, v1none]), null);
  t.equal(cgroupMemoryLimit([missing]), null);
  t.equal(cgroupMemoryLimit([file('garbage', 'lots')]), null);
});

t.test('the budget is a share of the limit; without a cgroup limit, of the machine', async (t) => {
  t.equal(MEMORY_BUDGET_SHARE, 0.5);
  t.equal(memoryBudgetFor(2 ** 30), 2 ** 29);
  const limit = cgroupMemoryLimit();
  t.equal(defaultMemoryBudget(), memoryBudgetFor(limit ?? totalmem()));
  t.equal(loadConfig({}).overload.memoryBudgetBytes, defaultMemoryBudget(), 'the default of MEMORY_BUDGET_BYTES');
  t.equal(loadConfig({ MEMORY_BUDGET_BYTES: '0' }).overload.memoryBudgetBytes, 0, '0 turns it off');
  t.equal(loadConfig({ MEMORY_BUDGET_BYTES: String(2 ** 29) }).pool.maxHeapMb, 0, "workers keep Node's heap limit");
  t.throws(() => loadConfig({ MEMORY_BUDGET_BYTES: '-1' }), /MEMORY_BUDGET_BYTES/);
});
