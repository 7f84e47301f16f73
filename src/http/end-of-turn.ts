/**
 * Forward answers computed at the end of the event-loop turn that received their requests, back to back.
 *
 * A small request's forward pass and the writing of its answer take ~2 µs when their code and data are warm,
 * and several times that when they run once between the parsing of one request and the next (on the
 * server, each request walks Node's HTTP code, Fastify and our plugins in between, and every system call
 * empties the TLB on machines with page-table isolation). Under load the loop reads several requests per
 * turn (~6 with 10 busy connections), so the routes hand their pass to this class, which runs all of a turn's
 * passes in a `setImmediate` callback (right after the turn's I/O, before any timer) and then sends their
 * answers: a hello request costs ~24 % less CPU on the server with 10 busy connections (45 vs 59 µs;
 * docs/performance.md#where-the-time-goes). Nothing waits for a batch to fill: a lone request is answered in the turn it
 * arrived in, one `setImmediate` later (1 connection: the same requests/s within 1 %). Passes are not merged
 * into one larger pass: each answer is computed exactly as it would be alone.
 *
 * Fast path of: computing each pass in its route handler. test/http/end-of-turn.test.ts holds every answer (or
 * problem) equal, byte for byte, to the one the same request gets alone.
 *
 * It lives with HTTP, not with the runtime, because what it schedules are replies.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { JsonAnswer } from '../codec/json-stream.js';
import { sendJson } from './reply.js';

/**
 * A forward pass and the writing of its answer: at once, or a promise (on a worker, or after a yield). A large
 * answer is planned here and written as it is sent (reply.ts), after the turn's other answers are out.
 */
export type Answer = JsonAnswer | Promise<JsonAnswer>;

/** What a pass threw (a rejected request, or a bug): sent as a handler's throw would be. */
class Thrown {
  constructor(readonly error: Error) {}
}

interface Pending {
  readonly reply: FastifyReply;
  readonly compute: () => Answer;
  result: Answer | Thrown | null;
}

export interface EndOfTurnOptions {
  /** Called once per turn with the number of answers computed together (for the metrics). */
  onTurn?: (answers: number) => void;
  /** Where a failure to hand an answer to Fastify is logged (it has no reply left to go to). */
  log: FastifyBaseLogger;
}

export class EndOfTurnAnswers {
  #pending: Pending[] = [];
  #scheduled = false;
  readonly #onTurn: (answers: number) => void;
  readonly #log: FastifyBaseLogger;

  constructor({ onTurn = () => {}, log }: EndOfTurnOptions) {
    this.#onTurn = onTurn;
    this.#log = log;
  }

  /**
   * Answers `reply` with what `compute` returns (a JSON body, or a promise of one), computed at the end of
   * this turn together with the turn's other passes. A throw or a rejection is sent as the route handler's
   * own would be: through Fastify's error handling (problem+json).
   */
  answer(reply: FastifyReply, compute: () => Answer): void {
    this.#pending.push({ reply, compute, result: null });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    // All passes first, then all sends: sending makes a system call per answer.
    for (const pending of batch) {
      try {
        pending.result = pending.compute();
      } catch (error) {
        pending.result = new Thrown(asError(error));
      }
    }
    for (const pending of batch) this.#deliver(pending.reply, pending.result as Answer | Thrown);
    this.#onTurn(batch.length);
  };

  #deliver(reply: FastifyReply, result: Answer | Thrown): void {
    try {
      if (result instanceof Thrown) reply.send(result.error);
      else if (result instanceof Promise)
        result.then(
          (body) => this.#deliver(reply, body),
          (error) => this.#deliver(reply, new Thrown(asError(error))),
        );
      else sendJson(reply, result);
    } catch (error) {
      // Fastify handles a send's own failures; this is a last guard, so that one answer cannot take down the
      // process (this runs in a setImmediate callback, where a throw would be uncaught).
      this.#log.error({ err: error }, 'could not send a forward answer');
    }
  }
}

const asError = (value: unknown): Error => (value instanceof Error ? value : new Error(String(value)));
