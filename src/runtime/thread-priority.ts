/**
 * The nice value of a worker thread (POOL_NICE): workers run below the event loop, so that when they compete for a
 * core, small requests and probes go first.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers this thread's priority. Linux keeps a nice value per thread, and setpriority(2) with a thread id sets that
 * thread's alone: the event loop keeps its own. Elsewhere, or where it is refused, the thread runs as it is.
 */
export function lowerThreadPriority(nice: number): void {
  if (nice <= 0 || process.platform !== 'linux') return;
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId > 0) setPriority(threadId, nice);
  } catch {
    // No /proc, or not allowed: not worth failing the thread for.
  }
}
