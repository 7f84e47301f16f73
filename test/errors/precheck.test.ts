/**
 * The pre-check that bounds what zod is asked to explain: it counts wrong-typed values, out-of-range numbers,
 * strings outside an enum, missing required fields and unknown keys without zod, and rejects a body with more
 * than 20 of them (the first 20 listed, all counted). It must never reject what zod accepts: held to that over
 * generated bodies for every schema it guards.
 */
import t from 'tap';
import type { z } from 'zod';
import { ForwardRequest } from '../../schemas/forward.js';
import { ACTIVATION_NAMES } from '../../src/engine/activations.js';
import { OipInferenceRequest } from '../../schemas/oip.js';
import { precheck } from '../../src/errors/precheck.js';
import { rng } from '../helpers/random.js';
import { BASES, mutate, repeat } from '../helpers/mutated-bodies.js';

t.test('more than 20 wrong elements: the first 20 with their paths, and the count', async (t) => {
  const problem = precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 2, mask: [[true, ...repeat(30, 'x')]] });
  t.ok(problem);
  if (problem === null) return;
  t.equal(problem.status, 400);
  t.equal(problem.errors.length, 20);
  t.same(problem.errors[0], { path: 'mask[0][1]', message: 'is a string; expected a boolean' });
  t.equal(problem.errors[19].path, 'mask[0][20]');
  t.equal(problem.errorCount, 30);
  t.equal(problem.message, 'mask[0][1]: is a string; expected a boolean (and 29 more, 10 of them not listed)');
});

t.test('20 or fewer: left to zod', async (t) => {
  t.equal(precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 2, mask: [repeat(20, 'x')] }), null);
  const one = precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 2, mask: [repeat(20, 'x')], extra: 1 });
  t.equal(one?.errorCount, 21, 'one more (an unknown key) and it is rejected');
});

t.test('counts across the body, in document order', async (t) => {
  const problem = precheck(ForwardRequest, {
    inputs: [[repeat(10, 'x')]],
    hiddenSize: 'two',
    lengths: repeat(10, -1),
    unknownA: 1,
    unknownB: 2,
  });
  t.ok(problem);
  if (problem === null) return;
  t.equal(problem.errorCount, 23);
  t.same(
    problem.errors.map((e) => e.path),
    [
      ...Array.from({ length: 10 }, (_, i) => `inputs[0][0][${i}]`),
      'hiddenSize',
      ...Array.from({ length: 9 }, (_, i) => `lengths[${i}]`),
    ],
  );
  t.equal(problem.errors[10].message, 'is a string; expected an integer ≥ 1');
  t.equal(problem.errors[11].message, 'is -1; expected an integer ≥ 0');
});

t.test('what it checks besides JSON types', async (t) => {
  const check = (schema: z.ZodType, body: unknown) => precheck(schema, body)?.errors[0] ?? null;
  t.same(check(ForwardRequest, { inputs: [[[1]]], layers: repeat(21, {}) }), {
    path: 'layers[0].hiddenSize',
    message: 'is required (expected an integer ≥ 1)',
  });
  t.same(check(ForwardRequest, { inputs: [[[1]]], layers: repeat(21, { hiddenSize: 1, activation: 'nope' }) }), {
    path: 'layers[0].activation',
    message: `is "nope"; expected one of ${ACTIVATION_NAMES.map((a) => `"${a}"`).join(', ')}`,
  });
  t.same(check(ForwardRequest, { inputs: [[repeat(21, Number.POSITIVE_INFINITY)]], hiddenSize: 1 }), {
    path: 'inputs[0][0][0]',
    message: 'is Infinity; expected a number',
  });
  const keys = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
  t.same(check(ForwardRequest, { inputs: [[[1]]], hidden_size: 1, ...keys }), {
    path: 'hidden_size',
    message: 'is not a known field; did you mean hiddenSize?',
  });
  t.same(check(ForwardRequest, { inputs: { shape: [1, 1, 1], data: [1], ...keys }, hiddenSize: 1 }), {
    path: 'inputs.k0',
    message: 'is not a known field',
  });
  t.same(check(ForwardRequest, { text: repeat(21, 1), hiddenSize: 1 }), {
    path: 'text[0]',
    message: 'is a number; expected a string or an array',
  });
  t.equal(
    check(ForwardRequest, { inputs: [[[1]]], hiddenSize: 1, bidirectional: { mergeMode: null } }),
    null,
    'a nullable enum takes null',
  );
});

t.test("a union's branch is picked by the value's JSON kind, and for arrays by how deep they nest", async (t) => {
  const oip = (data: unknown) => ({ inputs: [{ name: 'input', shape: [1, 1, 30], datatype: 'FP32', data }] });
  t.equal(precheck(OipInferenceRequest, oip(repeat(30, 'x')))?.errors[0].path, 'inputs[0].data[0]');
  t.equal(precheck(OipInferenceRequest, oip([repeat(30, 'x')]))?.errors[0].path, 'inputs[0].data[0][0]');
  t.equal(precheck(OipInferenceRequest, oip([[repeat(30, 'x')]]))?.errors[0].path, 'inputs[0].data[0][0][0]');
  t.same(
    precheck(OipInferenceRequest, oip([[repeat(30, [1])]]))?.errors[0],
    { path: 'inputs[0].data[0][0][0]', message: 'is an array; expected a number' },
    'deeper than every option: reported against the deepest',
  );
  t.equal(precheck(OipInferenceRequest, oip([[repeat(30, 1)]])), null, 'valid at depth 3');
  t.equal(
    precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 1, initialState: [[], repeat(30, 'x')] }),
    null,
    'an empty first element: unsure which option, left to zod',
  );
  t.equal(
    precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 1, initialState: [[repeat(30, 'x')]] })?.errors[0].path,
    'initialState[0][0][0]',
  );
  t.equal(
    precheck(ForwardRequest, { inputs: [[[1]]], pytorchWeights: { w: repeat(30, 'x') } })?.errors[0].path,
    'pytorchWeights.w[0]',
    'a record of matrices or vectors',
  );
});

t.test('a deeply nested body does not overflow the pre-check', async (t) => {
  let deep: unknown = [];
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const problem = precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 1, mask: deep });
  t.equal(problem, null, 'one error (mask[0][0] is an array): zod explains it');
  const many = precheck(ForwardRequest, { inputs: [[[1]]], hiddenSize: 1, text: repeat(25, deep) });
  t.equal(many?.errorCount, 25 * 1, 'each text[i][0] is an array where a token string is expected');
});

t.test('a million wrong elements are counted in well under a second', async (t) => {
  const body = { inputs: [[[1]]], hiddenSize: 2, mask: [repeat(1_000_000, 'x')] };
  // CPU time, not wall time: the tests share two cores with others (alone: about 230 ms).
  const cpu = process.cpuUsage();
  const problem = precheck(ForwardRequest, body);
  const used = process.cpuUsage(cpu);
  const ms = (used.user + used.system) / 1000;
  t.equal(problem?.errorCount, 1_000_000);
  t.ok(ms < 1000, `with ${ms.toFixed(0)} ms of CPU`);
});

// ---- never rejects what zod accepts

const BODIES = 2000;

t.test('never rejects a body zod accepts; rejects only bodies zod rejects', async (t) => {
  const random = rng(20261203);
  for (const [name, schema, bases] of BASES) {
    let rejected = 0;
    let zodRejected = 0;
    const mismatches: string[] = [];
    for (const base of bases) {
      t.ok(schema.safeParse(base).success, `${name}: the base body is valid`);
      t.equal(precheck(schema, base), null, `${name}: the pre-check passes it`);
    }
    for (let i = 0; i < BODIES; i++) {
      const body = mutate(bases[i % bases.length], random);
      const problem = precheck(schema, body);
      const valid = schema.safeParse(body).success;
      if (!valid) zodRejected++;
      if (problem !== null) {
        rejected++;
        if (valid && mismatches.length < 5) mismatches.push(JSON.stringify(body).slice(0, 300));
        if (problem.errors.length !== 20 || problem.errorCount <= 20)
          mismatches.push(`${problem.errors.length} listed of ${problem.errorCount}`);
      }
    }
    t.same(mismatches, [], `${name}: nothing zod accepts is rejected`);
    t.ok(rejected > BODIES / 50, `${name}: the pre-check rejected ${rejected} of ${BODIES} (zod ${zodRejected})`);
  }
});
