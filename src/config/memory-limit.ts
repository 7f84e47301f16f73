/**
 * The memory this process may use: the container's cgroup limit when there is one, else the machine's memory.
 * The in-flight memory budget (MEMORY_BUDGET_BYTES) defaults to a share of it.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** cgroup v2 (current Kubernetes nodes): "max" when unlimited. */
export const CGROUP_V2_LIMIT = '/sys/fs/cgroup/memory.max';
/** cgroup v1: a huge number (about 2^63) when unlimited. */
export const CGROUP_V1_LIMIT = '/sys/fs/cgroup/memory/memory.limit_in_bytes';

/**
 * The budget's share of the memory limit. The rest is the runtime's own (Node, V8's heap of code and
 * long-lived objects, the model repository, ~100-150 MB at rest), request bodies being received, and
 * the garbage a collector has not reclaimed yet.
 */
export const MEMORY_BUDGET_SHARE = 0.5;

function readLimit(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === 'max') return null;
    const value = Number(text);
    // v1 reports "no limit" as a page-rounded 2^63 - 1: anything past a petabyte is no limit.
    return Number.isSafeInteger(value) && value > 0 && value < 2 ** 50 ? value : null;
  } catch {
    return null;
  }
}

/** The cgroup memory limit in bytes (v2, then v1), or null when there is none or no cgroup file. */
export function cgroupMemoryLimit(paths: readonly string[] = [CGROUP_V2_LIMIT, CGROUP_V1_LIMIT]): number | null {
  for (const path of paths) {
    const limit = readLimit(path);
    if (limit !== null) return limit;
  }
  return null;
}

/** The budget for a memory limit: MEMORY_BUDGET_SHARE of it, in whole bytes. */
export function memoryBudgetFor(limitBytes: number): number {
  return Math.floor(limitBytes * MEMORY_BUDGET_SHARE);
}

/** MEMORY_BUDGET_BYTES's default: from the cgroup limit, else from the machine's memory. */
export function defaultMemoryBudget(): number {
  return memoryBudgetFor(cgroupMemoryLimit() ?? totalmem());
}
