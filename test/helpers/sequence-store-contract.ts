/**
 * What every sequence store promises (src/core/sequences/sequence-store.ts), as tests run against each store: the
 * in-process one and the Redis one answer the same calls with the same values and the same errors.
 */
import { Registry } from 'prom-client';
import type { Test } from 'tap';
import type { ProblemError } from '../../src/errors/problem-error.js';
import { SequenceMetrics } from '../../src/core/sequences/sequence-metrics.js';
import type { SequenceKey, SequenceStore } from '../../src/core/sequences/sequence-store.js';
import { sample } from './metrics.js';

export interface StoreLimits {
  readonly maxSequences: number;
  readonly idleMs: number;
}

/** Makes a store with these limits, these metrics and a Retry-After of RETRY_AFTER s, closed when `t` ends. */
export type MakeStore = (t: Test, limits: StoreLimits, metrics: SequenceMetrics) => Promise<SequenceStore>;

export const RETRY_AFTER = 2;
export const OWNER = { version: '1', weightsDigest: 'sha256:aaaa' };
export const LIMITS: StoreLimits = { maxSequences: 100, idleMs: 60_000 };

/** Float32 bit patterns that a detour through numbers could change: NaN payloads, -0, infinities, subnormals. */
export const AWKWARD_BITS = [
  0x7fc00000, 0x7fc00001, 0xffc12345, 0x7f800001, 0xff800001, 0x80000000, 0x00000000, 0x7f800000, 0xff800000,
  0x00000001, 0x807fffff, 0x3f800000, 0x7f7fffff,
];

export function awkwardState(): Float32Array[] {
  const h = new Float32Array(new Uint32Array(AWKWARD_BITS).buffer);
  const c = new Float32Array([0.5, -0.25, 1e-30]);
  return [h, c, new Float32Array(0), new Float32Array([Math.PI])];
}

export function bitsOf(state: readonly Float32Array[]): number[][] {
  return state.map((a) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)]);
}

export async function withMetrics<S extends SequenceStore>(
  t: Test,
  make: (t: Test, limits: StoreLimits, metrics: SequenceMetrics) => Promise<S>,
  limits: StoreLimits = LIMITS,
) {
  const registry = new Registry();
  const metrics = new SequenceMetrics(registry);
  const store = await make(t, limits, metrics);
  const scrape = async (name: string, labels = '') => sample(await registry.metrics(), name, labels);
  return { store, registry, metrics, scrape };
}

export async function problemOf(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (error) {
    return error as ProblemError;
  }
  throw new Error('expected a refusal');
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function sequenceStoreContract(t: Test, make: MakeStore): void {
  t.test('begin, load, save, end: steps count the writes; an ended sequence is gone', async (t) => {
    const { store, scrape } = await withMetrics(t, make);
    const key: SequenceKey = { model: 'lstm', id: 42n };
    t.equal(await store.load(key), null, 'never started: null');
    t.same(await store.begin(key, OWNER, [new Float32Array([1, 2])]), { step: 0, restarted: false });
    const entry = await store.load(key);
    t.same(
      { ...entry, state: entry!.state.map((a) => [...a]) },
      { model: 'lstm', id: 42n, version: '1', weightsDigest: 'sha256:aaaa', step: 0, state: [[1, 2]] },
    );
    t.equal(await store.save(key, [new Float32Array([3, 4])], 0), 1);
    t.equal(await store.save(key, [new Float32Array([5, 6])], 1), 2);
    const later = await store.load(key);
    t.equal(later!.step, 2);
    t.same([...later!.state[0]], [5, 6]);
    t.equal(store.stats().active, 1);
    t.equal(await store.end(key), true);
    t.equal(await store.load(key), null, 'ended: null');
    t.equal(await store.save(key, [new Float32Array([7, 8])], 2), null, 'a save after the end: null');
    t.equal(await store.end(key), false, 'ending twice: false');
    t.equal(store.stats().active, 0);
    t.equal(await scrape('rnn_sequences_started_total'), 1);
    t.equal(await scrape('rnn_sequences_ended_total'), 1);
    t.equal(await scrape('rnn_sequences_restarted_total'), 0);
    t.equal(await scrape('rnn_sequence_store_up'), 1);
  });

  t.test('ids: 42 and "42" are two sequences; 2^64 - 1, 2^63 and long string ids round-trip', async (t) => {
    const { store } = await withMetrics(t, make);
    const ids = [42n, '42', 2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 'x'.repeat(128), '🦜'.repeat(128), 'a:s:b'];
    for (const [i, id] of ids.entries()) await store.begin({ model: 'm', id }, OWNER, [new Float32Array([i])]);
    for (const [i, id] of ids.entries()) {
      const entry = await store.load({ model: 'm', id });
      t.equal(entry?.id, id, `${typeof id} ${String(id).slice(0, 20)}`);
      t.equal(typeof entry?.id, typeof id);
      t.same([...entry!.state[0]], [i], 'its own state');
    }
    t.equal(store.stats().active, ids.length);
    t.equal(await store.load({ model: 'm', id: 43n }), null);
    t.equal(await store.load({ model: 'other', id: 42n }), null, 'an id is per model');
  });

  t.test('model names with the separators do not blur into another key', async (t) => {
    const { store } = await withMetrics(t, make);
    // Unescaped, both would be `a:s:s:b`.
    await store.begin({ model: 'a', id: 's:b' }, OWNER, [new Float32Array([1])]);
    await store.begin({ model: 'a:s', id: 'b' }, OWNER, [new Float32Array([2])]);
    await store.begin({ model: 'a%3As', id: 'b' }, OWNER, [new Float32Array([3])]);
    t.same([...(await store.load({ model: 'a', id: 's:b' }))!.state[0]], [1]);
    t.same([...(await store.load({ model: 'a:s', id: 'b' }))!.state[0]], [2]);
    t.same([...(await store.load({ model: 'a%3As', id: 'b' }))!.state[0]], [3]);
  });

  t.test('ids that name no sequence are refused before anything is stored', async (t) => {
    const { store } = await withMetrics(t, make);
    for (const [id, message] of [
      [0n, /0 is not a sequence id; expected an integer from 1 to 2\^64 - 1/],
      [2n ** 64n, /18446744073709551616 is not a sequence id/],
      [-1n, /-1 is not a sequence id/],
      ['', /an empty string is not a sequence id/],
      ['x'.repeat(129), /at most 128 characters; this one has 129/],
      ['a\ud800b', /lone surrogate/],
    ] as const) {
      await t.rejects(store.begin({ model: 'm', id }, OWNER, []), { name: 'TypeError', message }, String(id));
    }
    t.equal(store.stats().active, 0);
  });

  t.test('states round-trip bit for bit (NaN payloads, -0, infinities, subnormals), as copies', async (t) => {
    const { store } = await withMetrics(t, make);
    const key = { model: 'm', id: 'bits' };
    const state = awkwardState();
    await store.begin(key, OWNER, state);
    state[0][0] = 99; // the caller's arrays are its own again once begin has resolved
    const loaded = await store.load(key);
    t.same(bitsOf(loaded!.state), bitsOf(awkwardState()), 'begin: every bit');
    t.same(
      loaded!.state.map((a) => a.length),
      [13, 3, 0, 1],
    );
    loaded!.state[0][1] = 7; // a loaded state is a copy
    t.same(bitsOf((await store.load(key))!.state), bitsOf(awkwardState()));
    const reversed = awkwardState().reverse();
    await store.save(key, reversed, 0);
    t.same(bitsOf((await store.load(key))!.state), bitsOf(awkwardState().reverse()), 'save: every bit');
    await store.save(key, [], 1);
    t.same((await store.load(key))!.state, [], 'an empty list');
  });

  t.test('compare-and-set: a save from a stale step is refused with 409 naming both steps', async (t) => {
    const { store, scrape } = await withMetrics(t, make);
    const key = { model: 'gru', id: 7n };
    await store.begin(key, OWNER, [new Float32Array([1])]);
    await store.save(key, [new Float32Array([2])], 0);
    const conflict = await problemOf(store.save(key, [new Float32Array([3])], 0));
    t.equal(conflict.status, 409);
    t.equal(conflict.kind, 'sequence-conflict');
    t.match(conflict.message, /^sequence 7 of model "gru" is at step 1, not step 0 as when this request read it/);
    t.same([...(await store.load(key))!.state[0]], [2], 'the refused state was not applied');
    t.equal(await scrape('rnn_sequences_refused_total', 'reason="conflict"'), 1);
  });

  t.test('the race: two saves from the same step at once, exactly one wins', async (t) => {
    const { store } = await withMetrics(t, make);
    for (let round = 0; round < 20; round++) {
      const key = { model: 'm', id: `race-${round}` };
      await store.begin(key, OWNER, [new Float32Array([0])]);
      const outcomes = await Promise.allSettled([
        store.save(key, [new Float32Array([1])], 0),
        store.save(key, [new Float32Array([2])], 0),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o) => o.status === 'rejected');
      t.equal(won.length, 1, `round ${round}: one save wins`);
      t.equal((won[0] as PromiseFulfilledResult<number>).value, 1);
      t.equal(((lost[0] as PromiseRejectedResult).reason as ProblemError).status, 409);
      const winner = outcomes.indexOf(won[0]) + 1;
      t.same([...(await store.load(key))!.state[0]], [winner], 'the winner is what is stored');
    }
  });

  t.test('a start for a sequence in progress restarts it: new owner and state, the step goes on', async (t) => {
    const { store, scrape } = await withMetrics(t, make);
    const key = { model: 'm', id: 5n };
    await store.begin(key, OWNER, [new Float32Array([1])]);
    await store.save(key, [new Float32Array([2])], 0);
    const other = { version: '2', weightsDigest: 'sha256:bbbb' };
    t.same(await store.begin(key, other, [new Float32Array([9, 9])]), { step: 2, restarted: true });
    const entry = await store.load(key);
    t.equal(entry!.version, '2');
    t.equal(entry!.weightsDigest, 'sha256:bbbb');
    t.same([...entry!.state[0]], [9, 9]);
    t.equal(entry!.step, 2);
    const stale = await problemOf(store.save(key, [new Float32Array([3])], 1));
    t.equal(stale.status, 409, 'a step computed before the restart is refused');
    t.equal(store.stats().active, 1);
    t.equal(await scrape('rnn_sequences_started_total'), 2);
    t.equal(await scrape('rnn_sequences_restarted_total'), 1);
  });

  t.test('end with the expected step: refused if another step was saved meanwhile', async (t) => {
    const { store } = await withMetrics(t, make);
    const key = { model: 'm', id: 'e' };
    await store.begin(key, OWNER, [new Float32Array([1])]);
    await store.save(key, [new Float32Array([2])], 0);
    const conflict = await problemOf(store.end(key, 0));
    t.equal(conflict.status, 409);
    t.match(conflict.message, /"e" of model "m" is at step 1, not step 0/);
    t.ok(await store.load(key), 'still in progress');
    t.equal(await store.end(key, 1), true);
    t.equal(await store.load(key), null);
  });

  t.test('SEQUENCE_MAX: a start beyond it is refused with 503; no sequence in progress is evicted', async (t) => {
    const { store, scrape } = await withMetrics(t, make, { maxSequences: 3, idleMs: 60_000 });
    for (const id of [1n, 2n, 3n]) await store.begin({ model: 'm', id }, OWNER, [new Float32Array([Number(id)])]);
    const refused = await problemOf(store.begin({ model: 'm', id: 4n }, OWNER, []));
    t.equal(refused.status, 503);
    t.equal(refused.kind, 'too-many-sequences');
    t.same(refused.headers, { 'retry-after': String(RETRY_AFTER) });
    t.match(refused.message, /^sequence 4 of model "m" cannot start: 3 sequences are in progress/);
    t.match(
      refused.message,
      /the limit \(SEQUENCE_MAX=3\); one ends with its last request or after 60000 ms idle \(SEQUENCE_IDLE_MS\)/,
    );
    for (const id of [1n, 2n, 3n]) t.same([...(await store.load({ model: 'm', id }))!.state[0]], [Number(id)]);
    t.same(
      await store.begin({ model: 'm', id: 2n }, OWNER, []),
      { step: 1, restarted: true },
      'a restart is not a new one',
    );
    await store.end({ model: 'm', id: 1n });
    t.same(await store.begin({ model: 'm', id: 4n }, OWNER, []), { step: 0, restarted: false }, 'room again');
    t.equal(store.stats().active, 3);
    t.equal(await scrape('rnn_sequences_refused_total', 'reason="limit"'), 1);
  });

  t.test('SEQUENCE_IDLE_MS: a sequence idle past it is gone, its slot free, and it is counted', async (t) => {
    const idleMs = 800;
    const { store, scrape } = await withMetrics(t, make, { maxSequences: 2, idleMs });
    const kept = { model: 'm', id: 'kept' };
    const idle = { model: 'm', id: 'idle' };
    await store.begin(kept, OWNER, [new Float32Array([1])]);
    await store.begin(idle, OWNER, [new Float32Array([2])]);
    // `kept` is written every 100 ms, never idle for 800 ms; `idle` is only read, and reads do not count.
    const start = performance.now();
    for (let step = 0; performance.now() - start < idleMs + 400; step++) {
      await delay(100);
      t.equal(await store.save(kept, [new Float32Array([step])], step), step + 1);
      await store.load(idle);
    }
    t.equal(await store.load(idle), null, 'idle past the limit: null');
    t.equal(await store.save(idle, [], 0), null);
    t.ok(await store.load(kept), 'written within the limit: kept');
    t.same(await store.begin({ model: 'm', id: 'new' }, OWNER, []), { step: 0, restarted: false }, 'its slot is free');
    await delay(idleMs + 100);
    t.equal(await store.load(kept), null, 'and then idle too');
    let expired = 0;
    for (let wait = 0; wait < 60 && expired < 3; wait++) {
      expired = (await scrape('rnn_sequences_expired_total')) ?? 0;
      if (expired < 3) await delay(50);
    }
    t.equal(expired, 3, 'each expiry counted once');
    for (let wait = 0; wait < 60 && store.stats().active > 0; wait++) await delay(50);
    t.equal(store.stats().active, 0);
    t.equal(await scrape('rnn_sequences_active'), 0);
  });
}
