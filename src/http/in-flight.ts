/**
 * What a request holds while its answer is being made, tied to its reply: its share of the memory budget, given
 * back when the response closes (sent, failed, or its client gone), and the signal that its client has gone.
 */
import type { FastifyReply } from 'fastify';
import type { MemoryBudget } from '../runtime/memory-budget.js';

/** Reserves `bytes` of `budget` for the request of `reply` until its response closes; throws the refusal. */
export function holdMemory(budget: MemoryBudget, reply: FastifyReply, bytes: number, what: string): void {
  const release = budget.reserve(bytes, what);
  // 'close' comes once for every response, also when the client went away first (or already has).
  if (reply.raw.closed) release();
  else reply.raw.once('close', release);
}

const signals = new WeakMap<FastifyReply, AbortSignal>();

/** A signal that aborts when the client of `reply` goes away before its answer is complete (made on first use). */
export function clientGone(reply: FastifyReply): AbortSignal {
  let signal = signals.get(reply);
  if (signal === undefined) {
    const controller = new AbortController();
    const response = reply.raw;
    const gone = () => {
      controller.abort();
      // Fastify writes no 'request completed' line for an answer that never finished: this is its line, with
      // nginx's 499 ("client closed request") as the status.
      const line = { method: reply.request.method, url: reply.request.url, statusCode: 499 };
      reply.log.info({ ...line, remoteAddress: reply.request.ip }, 'request aborted by the client');
    };
    if (response.closed && !response.writableFinished) gone();
    else response.once('close', () => response.writableFinished || gone());
    signal = controller.signal;
    signals.set(reply, signal);
  }
  return signal;
}
