/**
 * The worker threads that run large passes (jobs.ts) off the event loop, so that it keeps answering small
 * requests and health probes. What runs where, and when, is the core's decision (src/core/scheduler.ts: its queue
 * hands a job to a worker only when one is free, so piscina's own queue stays empty); this module moves jobs and
 * their answers across and stops a job whose clients have all gone.
 *
 * Typed arrays go to a worker by transfer, and answers come back so (transferables.ts). A large answer
 * (codec/json-stream.ts) is not written on the worker: it comes back as its tensors, and the event loop writes its
 * JSON in chunks as the socket takes them (~12 ms per MB of JSON in slices of one 64 KiB chunk, ~0.75 ms each,
 * between which other requests are answered; only answers from STREAM_MIN_BYTES of expected JSON take this path).
 * The alternative, chunks written on the worker and sent back through a MessagePort as the socket drains, needs a
 * port, a protocol and a worker held per answer for as long as its client reads.
 */
import { Piscina } from 'piscina';
import type { PoolSettings } from '../config/config.js';
import { ProblemError } from '../errors/problem-error.js';
import type { Job, JobResult } from './jobs.js';
import { outgoing } from './transferables.js';

export interface PoolOptions extends PoolSettings {
  /** Called when a worker fails outside a task (it is replaced). */
  readonly onError?: (error: unknown) => void;
}

export interface WorkerPool {
  readonly threads: number;
  /**
   * Runs a job on a worker. Rejects with `client-closed` when `signal` aborts (the worker is stopped and replaced,
   * whatever step it was at) and with `worker-failed` (503) when the worker dies.
   */
  run(job: Job, signal?: AbortSignal): Promise<JobResult>;
  /** Jobs stopped because their clients had gone. */
  readonly abandonedJobs: number;
  close(): Promise<void>;
}

export function createWorkerPool(settings: PoolOptions): WorkerPool {
  if (settings.threads === 0) {
    return {
      threads: 0,
      run: () => Promise.reject(new Error('no worker threads (POOL_THREADS=0)')),
      abandonedJobs: 0,
      close: async () => {},
    };
  }
  const pool = new Piscina({
    // Running from source (tsx, tap) the worker is the .ts file, loaded by the same loader (workers inherit
    // execArgv); from dist/ it is the compiled .js.
    filename: new URL(`./pool-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href,
    minThreads: settings.threads,
    maxThreads: settings.threads,
    idleTimeout: 60_000,
    workerData: { nice: settings.nice },
    // A worker whose heap outgrows the budget fails alone: its task is answered 503 and piscina replaces it.
    ...(settings.maxHeapMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: settings.maxHeapMb } } : {}),
  });
  // A worker that dies (out of memory, a bug) must not take the process down: piscina replaces it, the
  // request it ran gets a 503 (worker-failed), and the event is logged.
  pool.on('error', (error: unknown) => settings.onError?.(error));
  let abandonedJobs = 0;
  return {
    threads: settings.threads,
    async run(job, signal) {
      const { job: moved, transfer } = outgoing(job);
      try {
        return (await pool.run(moved, { transferList: transfer, ...(signal ? { signal } : {}) })) as JobResult;
      } catch (error) {
        if (signal?.aborted) {
          abandonedJobs += 1;
          throw new ProblemError('client-closed', 'the client went away; its task was stopped');
        }
        settings.onError?.(error);
        throw new ProblemError(
          'worker-failed',
          `the worker computing this request failed (${error instanceof Error ? error.message : String(error)}); it ` +
            'was replaced: retry',
          [],
          { 'retry-after': '1' },
        );
      }
    },
    get abandonedJobs() {
      return abandonedJobs;
    },
    // close, not destroy: tasks still running (their client may have gone) finish instead of failing with a
    // logged 500 "Terminating worker thread"; piscina's closeTimeout (30 s) bounds the wait.
    close: () => pool.close(),
  };
}
