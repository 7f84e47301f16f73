/**
 * Request ids, as both frontends give them: a client's own id (HTTP `x-request-id`, or gRPC metadata of the same
 * name) when it is a sane token, otherwise one made here.
 *
 * The ids made here are UUIDs of version 8 (RFC 9562's layout for custom ids): 74 random bits drawn when the
 * process starts, then a 48-bit sequence number. Unique across instances and restarts as random UUIDs are,
 * in order within a process (an operator can tell which request came first), and cheaper than a random UUID
 * per request (~1 % of a hello request's throughput on the server; docs/performance.md#where-the-time-goes).
 */
import { randomUUID } from 'node:crypto';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const ID_PREFIX = ((random: string) => `${random.slice(0, 14)}8${random.slice(15, 24)}`)(randomUUID());
let sequence = 0;

/** The client's id when it is 1 to 128 of `A-Z a-z 0-9 . _ : -`, else the next id of this process. */
export function requestIdFor(incoming: unknown): string {
  if (typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming)) return incoming;
  sequence = (sequence + 1) % 2 ** 48;
  return ID_PREFIX + sequence.toString(16).padStart(12, '0');
}
