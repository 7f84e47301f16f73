/**
 * A Fastify reply as the core's sink (src/core/sink.ts): the answer is sent by the route's writer, a problem through
 * Fastify's error handling (problem+json, or `{"error"}` on the inference protocol's routes), the client's leaving
 * is the response closing before it finished, and the exchange is over when the response closes (sent, failed, or
 * its client gone; Node emits 'close' once for every response).
 */
import type { FastifyReply } from 'fastify';
import type { Sink } from '../core/sink.js';

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

export class ReplySink<A> implements Sink<A> {
  constructor(
    readonly reply: FastifyReply,
    readonly send: (reply: FastifyReply, answer: A) => unknown,
  ) {}

  gone(): AbortSignal {
    return clientGone(this.reply);
  }

  arrived(): number {
    // Fastify times the reply from the moment it routed the request, before its body was read.
    return performance.now() - this.reply.elapsedTime;
  }

  onClose(release: () => void): void {
    const response = this.reply.raw;
    if (response.closed) release();
    else response.once('close', release);
  }

  answer(answer: A): void {
    try {
      this.send(this.reply, answer);
    } catch (error) {
      this.fail(error);
    }
  }

  fail(error: unknown): void {
    try {
      this.reply.send(error instanceof Error ? error : new Error(String(error)));
    } catch (thrown) {
      // Fastify handles a send's own failures; this is a last guard, so that one answer cannot take down the
      // process (the core answers in setImmediate callbacks, where a throw would be uncaught).
      this.reply.log.error({ err: thrown }, 'could not send an answer');
    }
  }
}
