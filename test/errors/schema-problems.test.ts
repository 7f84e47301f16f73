/**
 * zod's issues as problems, bounded: one `unrecognized_keys` issue with 200,000 keys becomes 20 problems (a "did you
 * mean" for those only) and a count of 200,000; a union's meant branch with many issues likewise.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { schemaProblem, validationEntries } from '../../src/errors/schema-problems.js';

t.test('200,000 unknown keys: 20 listed, all counted, quickly', async (t) => {
  const keys = Array.from({ length: 200_000 }, (_, i) => (i === 0 ? 'hidden_size' : `f${i}`));
  const start = performance.now();
  const problem = schemaProblem(ForwardRequest, [
    { keyword: 'unrecognized_keys', instancePath: '', message: 'Unrecognized keys', params: { keys } },
  ]);
  const ms = performance.now() - start;
  t.ok(ms < 200, `in ${ms.toFixed(0)} ms`);
  t.equal(problem.errors.length, 20);
  t.same(problem.errors[0], { path: 'hidden_size', message: 'is not a known field; did you mean hiddenSize?' });
  t.same(problem.errors[1], { path: 'f1', message: 'is not a known field' });
  t.equal(problem.errorCount, 200_000);
  t.equal(
    problem.message,
    'hidden_size: is not a known field; did you mean hiddenSize? (and 199999 more, 199980 of them not listed)',
  );
});

t.test("a union's meant branch with many issues: 20 listed with their paths, all counted", async (t) => {
  // 30 strings among the nested inputs: fewer than the pre-check's threshold would let zod see 30 issues too.
  const row = Array.from({ length: 30 }, () => 'x');
  const parsed = ForwardRequest.safeParse({ inputs: [[row]], hiddenSize: 2 });
  t.notOk(parsed.success);
  if (parsed.success) return;
  const problem = schemaProblem(ForwardRequest, validationEntries(parsed.error.issues));
  t.equal(problem.errors.length, 20);
  t.same(
    problem.errors.slice(0, 2).map((e) => e.path),
    ['inputs[0][0][0]', 'inputs[0][0][1]'],
  );
  t.equal(problem.errorCount, 30);
  t.match(problem.message, /\(and 29 more, 10 of them not listed\)$/);
});

t.test('few issues: every one listed, no count beyond them', async (t) => {
  const parsed = ForwardRequest.safeParse({ inputs: [[[1, 'x']]], hidden_size: 2 });
  t.notOk(parsed.success);
  if (parsed.success) return;
  const problem = schemaProblem(ForwardRequest, validationEntries(parsed.error.issues));
  t.same(problem.errors, [
    { path: 'inputs[0][0][1]', message: 'Invalid input: expected number, received string' },
    { path: 'hidden_size', message: 'is not a known field; did you mean hiddenSize?' },
  ]);
  t.equal(problem.errorCount, 2);
});
