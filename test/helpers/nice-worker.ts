/**
 * A worker thread for test/runtime/thread-priority.test.ts: lowers its own priority by each value of `workerData`
 * (POOL_NICE) in turn and posts its nice value first and after each, as /proc/thread-self/stat reports them.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../../src/runtime/thread-priority.js';

/** The nice value of the calling thread: field 19 of /proc/thread-self/stat. */
export function niceOfThisThread(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

if (parentPort !== null) {
  const seen = [niceOfThisThread()];
  for (const nice of workerData as number[]) {
    lowerThreadPriority(nice);
    seen.push(niceOfThisThread());
  }
  parentPort.postMessage(seen);
}
