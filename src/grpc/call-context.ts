/**
 * What a handler knows of its call beyond the request, from call-access.ts, which sees the call first: its request
 * id (set in the call's metadata) and when it arrived (its headers, before its message was read: the queue deadline
 * counts from then, as over HTTP).
 */
import type { Metadata } from '@grpc/grpc-js';

/** The metadata key of the request id, in both directions (HTTP's header of the same name). */
export const REQUEST_ID = 'x-request-id';

/** The request id call-access.ts gave the call. */
export const requestIdOf = (call: { metadata: Metadata }): string => String(call.metadata.get(REQUEST_ID)[0] ?? '');

/** performance.now() when each call's headers arrived, keyed by the metadata grpc-js hands on to the handler. */
const arrivals = new WeakMap<Metadata, number>();

export function markArrival(metadata: Metadata, at: number): void {
  arrivals.set(metadata, at);
}

/** When the call arrived; now, for a call call-access.ts did not see. */
export const arrivalOf = (call: { metadata: Metadata }): number => arrivals.get(call.metadata) ?? performance.now();

/**
 * Whether the client is still there, as the core asks it (Sink.gone): a signal that aborts when the call is
 * cancelled (the client went away, or its deadline passed). The listener is added on first use (an AbortController
 * and a listener per call cost a hello call more than its metrics) and removed by `settled`: grpc-js also reports a
 * call that ended normally as cancelled.
 */
export class CallPresence {
  #controller: AbortController | undefined;
  #settled = false;
  readonly #abort = () => {
    this.#controller?.abort();
    for (const listener of this.#onCancel.splice(0)) listener();
  };
  readonly #onCancel: (() => void)[] = [];

  constructor(
    private readonly call: {
      readonly cancelled: boolean;
      once(event: 'cancelled', listener: () => void): unknown;
      removeListener(event: 'cancelled', listener: () => void): unknown;
    },
  ) {}

  get cancelled(): boolean {
    return this.call.cancelled;
  }

  gone(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.call.cancelled) this.#controller.abort();
      else this.#listen();
    }
    return this.#controller.signal;
  }

  /** Calls `listener` if the call is cancelled before it is settled. */
  onCancel(listener: () => void): void {
    if (this.#settled) return;
    if (this.call.cancelled) {
      listener();
      return;
    }
    this.#onCancel.push(listener);
    this.#listen();
  }

  /** The call is over: a cancellation reported from now on is grpc-js's report of its normal end. */
  settled(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#onCancel.length = 0;
    this.call.removeListener('cancelled', this.#abort);
  }

  #listening = false;
  #listen(): void {
    if (this.#listening || this.#settled) return;
    this.#listening = true;
    this.call.once('cancelled', this.#abort);
  }
}
