/**
 * What a handler knows of its call beyond the request: its request id (set by call-access.ts in the call's
 * metadata) and whether its client is still there.
 */

/** The metadata key of the request id, in both directions (HTTP's header of the same name). */
export const REQUEST_ID = 'x-request-id';

/** The request id call-access.ts gave the call. */
export const requestIdOf = (call: { metadata: { get(key: string): unknown[] } }): string =>
  String(call.metadata.get(REQUEST_ID)[0] ?? '');

/** A signal that aborts when the call is cancelled (the client went away, or its deadline passed). */
export function cancelledSignal(call: {
  cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
}): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.once('cancelled', () => controller.abort());
  return controller.signal;
}
