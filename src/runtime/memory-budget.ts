/**
 * In-flight requests admitted against a byte budget (MEMORY_BUDGET_BYTES): each reserves what it is estimated to
 * hold (src/inference/memory-estimate.ts) before its work starts, and gives it back when its answer is done. A
 * request that does not fit beside the others is refused at once (503 + Retry-After: it fits once they finish);
 * one that could never fit, even alone, is a 400 naming the budget.
 */
import { ProblemError, limitExceeded } from '../errors/problem-error.js';

/** Below this, a request is not counted: its memory is within the headroom the budget leaves (and hello pays nothing). */
export const UNCOUNTED_BYTES = 256 * 1024;

export class MemoryBudget {
  #reserved = 0;
  #requests = 0;

  /** `total`: the budget in bytes; 0 = no budget (everything is admitted). */
  constructor(
    readonly total: number,
    private readonly retryAfterSeconds: number,
  ) {}

  get reserved(): number {
    return this.#reserved;
  }

  get requests(): number {
    return this.#requests;
  }

  /**
   * Reserves `bytes` and returns the function that gives them back (call it once), or throws the problem that
   * refuses the request. `what`: the request's estimated memory, in words, for the message.
   */
  reserve(bytes: number, what: string): () => void {
    if (this.total === 0 || bytes < UNCOUNTED_BYTES) return UNRESERVED;
    if (bytes > this.total) throw limitExceeded('$', what, bytes, this.total, 'MEMORY_BUDGET_BYTES');
    if (this.#reserved + bytes > this.total) {
      throw new ProblemError(
        'overloaded',
        `${what} is ${bytes} bytes; ${this.#reserved} of the ${this.total} bytes of MEMORY_BUDGET_BYTES are held by ` +
          `${this.#requests} request(s) in flight; retry after ${this.retryAfterSeconds} s`,
        [],
        { 'retry-after': String(this.retryAfterSeconds) },
      );
    }
    this.#reserved += bytes;
    this.#requests += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#reserved -= bytes;
      this.#requests -= 1;
    };
  }
}

/** What `reserve` returns when it reserved nothing (nothing to give back). */
export const UNRESERVED = (): void => {};
