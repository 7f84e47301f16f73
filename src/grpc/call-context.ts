import type { Abandoned } from '../runtime/pool.js';

/**
 * What a handler knows of its call beyond the request: its request id (set by call-access.ts in the call's
 * metadata) and whether its client is still there.
 */

/** The metadata key of the request id, in both directions (HTTP's header of the same name). */
export const REQUEST_ID = 'x-request-id';

/** The request id call-access.ts gave the call. */
export const requestIdOf = (call: { metadata: { get(key: string): unknown[] } }): string =>
  String(call.metadata.get(REQUEST_ID)[0] ?? '');

/**
 * The call's cancellation (the client went away, or its deadline passed) as the compute runner takes it: a function
 * that gives the signal, made on first use (only work sent to a worker asks for it: an AbortController and a
 * listener per call cost a hello call more than its metrics). grpc-js also reports a call that ended normally as
 * cancelled: once `settled`, that is not listened to.
 */
export function cancellation(call: {
  cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}): { abandoned: Abandoned; settled(): void } {
  let controller: AbortController | undefined;
  let done = false;
  const abort = () => controller?.abort();
  return {
    abandoned() {
      if (controller === undefined) {
        controller = new AbortController();
        if (call.cancelled) controller.abort();
        else if (!done) call.once('cancelled', abort);
      }
      return controller.signal;
    },
    settled() {
      done = true;
      if (controller !== undefined) call.removeListener('cancelled', abort);
    },
  };
}
