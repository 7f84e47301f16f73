/**
 * The in-process sequence store: the contract every store keeps, then what only it does: memory reserved from the
 * budget in blocks and given back on end, expiry and close; a start refused when the budget has no room; expiry
 * on its own clock.
 */
import t from 'tap';
import {
  ENTRY_OVERHEAD_BYTES,
  MemorySequenceStore,
  RESERVE_BLOCK_BYTES,
  type ReserveBytes,
} from '../../../src/core/sequences/memory-store.js';
import { ProblemError } from '../../../src/errors/problem-error.js';
import {
  LIMITS,
  OWNER,
  RETRY_AFTER,
  problemOf,
  sequenceStoreContract,
  withMetrics,
} from '../../helpers/sequence-store-contract.js';

sequenceStoreContract(t, async (t, limits, metrics) => {
  const store = new MemorySequenceStore({ ...limits, retryAfterSeconds: RETRY_AFTER, metrics });
  t.teardown(() => store.close());
  return store;
});

/** A budget of `total` bytes that records what is reserved and refuses what does not fit, as the core's does. */
function budget(total: number) {
  const state = { reserved: 0, calls: [] as number[] };
  const reserve: ReserveBytes = (bytes) => {
    state.calls.push(bytes);
    if (state.reserved + bytes > total)
      throw new ProblemError('overloaded', `no room for ${bytes} bytes`, [], { 'retry-after': '1' });
    state.reserved += bytes;
    let released = false;
    return () => {
      if (!released) state.reserved -= bytes;
      released = true;
    };
  };
  return { state, reserve };
}

/** A clock the test moves. */
function clock() {
  let now = 1000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const floats = (n: number) => new Float32Array(n);
/** What a state of these lengths is charged: its bytes (header included), plus the entry's overhead. */
const charged = (lengths: number[]) =>
  4 + 4 * lengths.length + 4 * lengths.reduce((a, b) => a + b, 0) + ENTRY_OVERHEAD_BYTES + 2 * (1 + 11);

t.test('bytes: reserved in blocks from the budget, given back on end, expiry and close', async (t) => {
  const { state, reserve } = budget(64 * RESERVE_BLOCK_BYTES);
  const time = clock();
  const store = new MemorySequenceStore({ ...LIMITS, idleMs: 1000, retryAfterSeconds: 1, reserve, now: time.now });
  t.teardown(() => store.close());
  await store.begin({ model: 'm', id: 1n }, OWNER, [floats(256), floats(256)]);
  t.equal(store.stats().bytes, charged([256, 256]));
  t.same(state.calls, [RESERVE_BLOCK_BYTES], 'one block covers a small state');
  await store.begin({ model: 'm', id: 2n }, OWNER, [floats(256), floats(256)]);
  t.same(state.calls, [RESERVE_BLOCK_BYTES], 'and the next');
  t.equal(store.stats().bytes, 2 * charged([256, 256]));

  // A state larger than a block: the shortfall is reserved in one go.
  const big = (RESERVE_BLOCK_BYTES * 3) / 4;
  await store.begin({ model: 'm', id: 3n }, OWNER, [floats(big)]);
  t.equal(state.calls.length, 2);
  t.equal(state.reserved, state.calls[0] + state.calls[1]);
  t.ok(state.reserved >= store.stats().bytes, 'what is held is covered');

  // save with another size: charged again; the same size: nothing changes.
  await store.save({ model: 'm', id: 1n }, [floats(512), floats(512)], 0);
  t.equal(store.stats().bytes, charged([512, 512]) + charged([256, 256]) + charged([big]));
  await store.save({ model: 'm', id: 1n }, [floats(512), floats(512)], 1);
  t.equal(store.stats().bytes, charged([512, 512]) + charged([256, 256]) + charged([big]));

  const before = state.reserved;
  t.equal(await store.end({ model: 'm', id: 3n }), true);
  t.equal(store.stats().bytes, charged([512, 512]) + charged([256, 256]));
  t.ok(state.reserved < before, 'blocks given back on end');
  t.ok(state.reserved >= store.stats().bytes + RESERVE_BLOCK_BYTES, 'but a spare block kept while sequences are held');
  time.advance(1000);
  t.equal(store.sweep(), 2, 'both idle sequences dropped');
  t.equal(store.stats().bytes, 0);
  t.equal(state.reserved, 0, 'every block given back once nothing is held');

  await store.begin({ model: 'm', id: 4n }, OWNER, [floats(8)]);
  t.equal(state.reserved, RESERVE_BLOCK_BYTES);
  await store.close();
  t.equal(state.reserved, 0, 'close gives back every block');
  t.equal(store.stats().active, 0);
});

t.test('a start the budget has no room for is refused, with the budget’s problem; nothing is held', async (t) => {
  const { state, reserve } = budget(RESERVE_BLOCK_BYTES);
  const { store, scrape } = await withMetrics(t, async (t, limits, metrics) => {
    const store = new MemorySequenceStore({ ...limits, retryAfterSeconds: 1, reserve, metrics });
    t.teardown(() => store.close());
    return store;
  });
  await store.begin({ model: 'm', id: 1n }, OWNER, [floats(1000)]);
  const block = RESERVE_BLOCK_BYTES / 4; // floats: a block of bytes, which does not fit beside the first state
  await t.rejects(store.begin({ model: 'm', id: 2n }, OWNER, [floats(block)]), {
    kind: 'overloaded',
    message: /no room for/,
  });
  t.equal(store.stats().active, 1);
  t.equal(await store.load({ model: 'm', id: 2n }), null);
  t.equal(await scrape('rnn_sequences_refused_total', 'reason="memory"'), 1);
  // A save that would grow past the budget is refused too, and leaves the sequence as it was.
  t.equal((await problemOf(store.save({ model: 'm', id: 1n }, [floats(block)], 0))).kind, 'overloaded');
  const entry = await store.load({ model: 'm', id: 1n });
  t.equal(entry!.step, 0);
  t.equal(entry!.state[0].length, 1000);
  t.equal(state.reserved, RESERVE_BLOCK_BYTES);
});

t.test('expiry on the store’s clock: the deadline counts from the last write; loads do not extend it', async (t) => {
  const time = clock();
  const { store, scrape } = await withMetrics(t, async (t, limits, metrics) => {
    const store = new MemorySequenceStore({
      ...limits,
      idleMs: 500,
      retryAfterSeconds: 1,
      metrics,
      now: time.now,
      sweepIntervalMs: 60_000,
    });
    t.teardown(() => store.close());
    return store;
  });
  const a = { model: 'm', id: 'a' };
  const b = { model: 'm', id: 'b' };
  await store.begin(a, OWNER, [floats(1)]);
  time.advance(300);
  await store.begin(b, OWNER, [floats(1)]);
  time.advance(199);
  t.ok(await store.load(a), '499 ms after its write');
  t.equal(await store.save(a, [floats(1)], 0), 1, 'written again: 500 ms more');
  time.advance(499);
  t.equal(store.sweep(), 1, 'b (written 698 ms ago) is dropped; a (499 ms) is not');
  t.equal(await store.load(b), null);
  t.ok(await store.load(a));
  time.advance(1);
  t.equal(await store.load(a), null, 'exactly idleMs after the write: gone, whether or not the sweep ran');
  t.equal(store.sweep(), 0, 'already dropped by the load, counted once');
  t.equal(await scrape('rnn_sequences_expired_total'), 2);
  t.equal(store.stats().active, 0);
});

t.test('at SEQUENCE_MAX, expired sequences make room before a start is refused', async (t) => {
  const time = clock();
  const store = new MemorySequenceStore({
    maxSequences: 2,
    idleMs: 100,
    retryAfterSeconds: 1,
    now: time.now,
    sweepIntervalMs: 60_000,
  });
  t.teardown(() => store.close());
  await store.begin({ model: 'm', id: 1n }, OWNER, []);
  await store.begin({ model: 'm', id: 2n }, OWNER, []);
  t.equal((await problemOf(store.begin({ model: 'm', id: 3n }, OWNER, []))).status, 503);
  time.advance(100);
  t.same(await store.begin({ model: 'm', id: 3n }, OWNER, []), { step: 0, restarted: false });
  t.equal(store.stats().active, 1);
});

t.test('the list stays in write order through restarts, saves and ends in the middle', async (t) => {
  const time = clock();
  const store = new MemorySequenceStore({ ...LIMITS, idleMs: 100, retryAfterSeconds: 1, now: time.now });
  t.teardown(() => store.close());
  const key = (id: number) => ({ model: 'm', id: BigInt(id) });
  for (let id = 1; id <= 5; id++) {
    await store.begin(key(id), OWNER, []);
    time.advance(10);
  }
  await store.save(key(1), [], 0); // 1 is now the newest
  await store.end(key(3));
  await store.begin(key(2), OWNER, []); // a restart: 2 is the newest
  // written at 1000 + 10·(id - 1), 1 and 2 again at 1050: deadlines 4 at 1130, 5 at 1140, 1 and 2 at 1150
  time.advance(1130 - 1050);
  t.equal(store.sweep(), 1, '4 only');
  time.advance(10);
  t.equal(store.sweep(), 1, '5');
  t.equal(store.stats().active, 2);
  time.advance(10);
  t.equal(store.sweep(), 2, '1 and 2');
  t.equal(store.stats().active, 0);
});

t.test('ready and close', async (t) => {
  const store = new MemorySequenceStore({ ...LIMITS, retryAfterSeconds: 1 });
  t.same(store.ready(), { ready: true });
  t.equal(store.kind, 'memory');
  await store.begin({ model: 'm', id: 1n }, OWNER, []);
  await store.close();
  t.equal(store.stats().active, 0);
});
