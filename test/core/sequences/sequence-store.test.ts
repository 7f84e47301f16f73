/**
 * sequence-store.ts: what every sequence store shares (test/helpers/sequence-store-contract.ts holds the stores to
 * their contract). Held here to the ids accepted (1 to 2^64 - 1, strings of 1 to 128 code points, valid Unicode),
 * how a sequence is named (a string id quoted), owners compared, keys checked, and the three problems' kinds,
 * words and Retry-After.
 */
import t from 'tap';
import {
  MAX_SEQUENCE_ID,
  MAX_SEQUENCE_ID_CHARS,
  checkKey,
  describeSequence,
  sameOwner,
  sequenceIdProblem,
  stepConflict,
  storeUnavailable,
  tooManySequences,
} from '../../../src/core/sequences/sequence-store.js';

t.test('the ids a sequence may have', async (t) => {
  t.equal(MAX_SEQUENCE_ID, 18446744073709551615n);
  t.equal(sequenceIdProblem(1n), null);
  t.equal(sequenceIdProblem(MAX_SEQUENCE_ID), null);
  t.equal(sequenceIdProblem(0n), '0 is not a sequence id; expected an integer from 1 to 2^64 - 1');
  t.equal(
    sequenceIdProblem(MAX_SEQUENCE_ID + 1n),
    '18446744073709551616 is not a sequence id; expected an integer from 1 to 2^64 - 1',
  );
  t.equal(sequenceIdProblem('a'), null);
  t.equal(sequenceIdProblem(''), 'an empty string is not a sequence id');
  t.equal(sequenceIdProblem('😀'.repeat(MAX_SEQUENCE_ID_CHARS)), null, '128 code points, 256 UTF-16 units');
  t.equal(
    sequenceIdProblem('x'.repeat(MAX_SEQUENCE_ID_CHARS + 1)),
    'a sequence id is at most 128 characters; this one has 129',
  );
  t.equal(sequenceIdProblem('a\ud800b'), 'a sequence id must be valid Unicode (it has a lone surrogate)');
});

t.test('names, owners and keys', async (t) => {
  t.equal(describeSequence({ model: 'hello', id: 42n }), 'sequence 42 of model "hello"');
  t.equal(describeSequence({ model: 'hello', id: '42' }), 'sequence "42" of model "hello"', 'a string id quoted');
  t.ok(sameOwner({ version: '1', weightsDigest: 'a' }, { version: '1', weightsDigest: 'a' }));
  t.notOk(sameOwner({ version: '1', weightsDigest: 'a' }, { version: '2', weightsDigest: 'a' }));
  t.notOk(sameOwner({ version: '1', weightsDigest: 'a' }, { version: '1', weightsDigest: 'b' }), 'rebuilt weights');
  t.doesNotThrow(() => checkKey({ model: 'm', id: 1n }));
  t.throws(() => checkKey({ model: '', id: 1n }), { name: 'TypeError', message: 'a sequence key needs a model name' });
  t.throws(() => checkKey({ model: 'm', id: '' }), { message: 'an empty string is not a sequence id' });
});

t.test('the problems: kind, words, Retry-After', async (t) => {
  const key = { model: 'm', id: 7n };
  const conflict = stepConflict(key, 3, 4);
  t.equal(conflict.kind, 'sequence-conflict');
  t.equal(conflict.status, 409);
  t.match(conflict.message, /^sequence 7 of model "m" is at step 4, not step 3 as when this request read it: /);
  const full = tooManySequences(
    key,
    10,
    { maxSequences: 10, idleMs: 60_000, retryAfterSeconds: 2 },
    ' across replicas',
  );
  t.equal(full.kind, 'too-many-sequences');
  t.same(full.headers, { 'retry-after': '2' });
  t.equal(
    full.message,
    'sequence 7 of model "m" cannot start: 10 sequences are in progress across replicas, the limit (SEQUENCE_MAX=10); one ends with its last request or after 60000 ms idle (SEQUENCE_IDLE_MS); retry after 2 s',
  );
  const cause = new Error('ECONNREFUSED');
  const down = storeUnavailable(key, 'saved', 'is not reachable', 1, cause);
  t.equal(down.kind, 'sequence-store-unavailable');
  t.equal(down.status, 503);
  t.equal(
    down.message,
    'sequence 7 of model "m" could not be saved: the sequence store (Redis) is not reachable; retry after 1 s',
  );
  t.equal(down.cause, cause);
});
