/**
 * thread-priority.ts lowers a worker thread's priority (POOL_NICE), not the process's. Held, on Linux, to the nice
 * value /proc reports for a worker thread that called it (test/helpers/nice-worker.ts), and to the main thread's
 * left as it was; 0 changes nothing. Workers load TypeScript through tap's loader: run this file with tap.
 */
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { niceOfThisThread } from '../helpers/nice-worker.js';

/** A worker that lowers its priority by each of `nices`: its nice value first and after each. */
function inWorker(nices: number[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../helpers/nice-worker.ts', import.meta.url), { workerData: nices });
    worker.once('message', (m: number[]) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

t.test('the worker thread alone is lowered', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const main = niceOfThisThread();
  const [before, afterZero, afterFive] = await inWorker([0, 5]);
  t.equal(afterZero, before, 'nice 0: left as it is');
  // setpriority sets the value: 5, unless the thread started above it and may not be raised again.
  t.ok(afterFive === 5 || (before > 5 && afterFive === before), `nice ${before} → ${afterFive}`);
  t.equal(niceOfThisThread(), main, "the main thread's nice value is unchanged");
});
