/**
 * In-flight requests and loaded models admitted against a byte budget (MEMORY_BUDGET_BYTES). A request reserves
 * what it is estimated to hold (src/inference/memory-estimate.ts) before its work starts, and gives it back when its
 * answer is done; one that does not fit beside the others is refused at once (503 + Retry-After: it fits once they
 * finish); one that could never fit, even alone beside the loaded models, is a 400 naming the budget. A model holds
 * what it keeps resident (src/models/model-file.ts residentBytes) from its load until it is freed; a model that does
 * not fit is not loaded, with the reason.
 */
import { ProblemError, limitExceeded } from '../errors/problem-error.js';

/** Below this, a request is not counted: its memory is within the headroom the budget leaves (and hello pays nothing). */
export const UNCOUNTED_BYTES = 256 * 1024;

export class MemoryBudget {
  #reserved = 0;
  #requests = 0;
  #resident = 0;
  #models = 0;

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

  /** Bytes held by loaded models (counted whether or not there is a budget). */
  get resident(): number {
    return this.#resident;
  }

  /** Bytes of what models and requests leave of the budget in the messages: `A by loaded models`. */
  #heldByModels(): string {
    return this.#resident === 0 ? '' : ` and ${this.#resident} by ${this.#models} loaded model(s)`;
  }

  /**
   * Reserves `bytes` and returns the function that gives them back (call it once), or throws the problem that
   * refuses the request. `what`: the request's estimated memory, in words, for the message.
   */
  reserve(bytes: number, what: string): () => void {
    if (this.total === 0 || bytes < UNCOUNTED_BYTES) return UNRESERVED;
    const left = this.total - this.#resident;
    if (bytes > left)
      throw limitExceeded(
        '$',
        what,
        bytes,
        left,
        this.#resident === 0
          ? 'MEMORY_BUDGET_BYTES'
          : `MEMORY_BUDGET_BYTES less ${this.#resident} bytes held by loaded models`,
      );
    if (this.#reserved + bytes > left) {
      throw new ProblemError(
        'overloaded',
        `${what} is ${bytes} bytes; ${this.#reserved + this.#resident} of the ${this.total} bytes of MEMORY_BUDGET_BYTES are held by ` +
          `${this.#requests} request(s) in flight${this.#heldByModels()}; retry after ${this.retryAfterSeconds} s`,
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

  /**
   * Holds `bytes` for a loaded model until the returned function is called (once); throws an Error saying why when
   * they do not fit beside the models and requests already held.
   */
  holdModel(bytes: number, what: string): () => void {
    if (this.total > 0 && this.#resident + this.#reserved + bytes > this.total) {
      throw new Error(
        `${what} needs an estimated ${bytes} bytes resident; ${this.#reserved + this.#resident} of the ${this.total} bytes ` +
          `of MEMORY_BUDGET_BYTES are held by ${this.#requests} request(s) in flight${this.#heldByModels()}`,
      );
    }
    this.#resident += bytes;
    this.#models += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#resident -= bytes;
      this.#models -= 1;
    };
  }
}

/** What `reserve` returns when it reserved nothing (nothing to give back). */
export const UNRESERVED = (): void => {};
