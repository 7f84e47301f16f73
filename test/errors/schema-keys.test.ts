/**
 * schema-keys.ts suggests the known key an unknown one meant, differing only by case, `_`, `-` or spaces. Held to a
 * schema of its own (nested objects, arrays, optional and nullable and default wrappers) and to the forward route's
 * schema (`hidden_size` → `hiddenSize`, inside `layers[k]`), and to no suggestion where none fits.
 */
import t from 'tap';
import { z } from 'zod';
import { ForwardRequest } from '../../schemas/forward.js';
import { suggestKey } from '../../src/errors/schema-keys.js';

const Schema = z.object({
  maxBatchSize: z.number(),
  inner: z
    .object({ returnState: z.boolean(), items: z.array(z.object({ timeoutMs: z.number() })).default([]) })
    .nullable()
    .optional(),
});

t.test('case, underscores, hyphens and spaces do not count', async (t) => {
  t.equal(suggestKey(Schema, [], 'max_batch_size'), 'maxBatchSize');
  t.equal(suggestKey(Schema, [], 'MAX-BATCH-SIZE'), 'maxBatchSize');
  t.equal(suggestKey(Schema, ['inner'], 'return state'), 'returnState', 'through optional and nullable');
  t.equal(suggestKey(Schema, ['inner', 'items', 3], 'timeout_ms'), 'timeoutMs', 'through a default and an array');
});

t.test('no suggestion', async (t) => {
  t.equal(suggestKey(Schema, [], 'maxBatch'), null, 'another word, not another spelling');
  t.equal(suggestKey(Schema, ['nowhere'], 'max_batch_size'), null, 'a path the schema does not have');
  t.equal(suggestKey(Schema, ['maxBatchSize'], 'x'), null, 'not an object there');
  t.equal(suggestKey('not a schema', [], 'x'), null);
});

t.test("the forward route's schema", async (t) => {
  t.equal(suggestKey(ForwardRequest, [], 'hidden_size'), 'hiddenSize');
  t.equal(suggestKey(ForwardRequest, [], 'return_sequences'), 'returnSequences');
  t.equal(suggestKey(ForwardRequest, ['layers', 0], 'go_backwards'), 'goBackwards');
});
