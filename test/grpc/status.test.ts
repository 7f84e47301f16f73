/** Problems → gRPC statuses (src/grpc/status.ts): the code clients expect for each kind, HTTP's words, Retry-After. */
import t from 'tap';
import { status } from '@grpc/grpc-js';
import { PROBLEM_KINDS, ProblemError, type ProblemKind } from '../../src/errors/problem-error.js';
import { CODE_OF_KIND, INTERNAL_ERROR_MESSAGE, errorStatus, problemStatus } from '../../src/grpc/status.js';

t.test('each problem kind has the code gRPC clients expect', async (t) => {
  const expected: Partial<Record<ProblemKind, number>> = {
    'invalid-request': status.INVALID_ARGUMENT,
    'limit-exceeded': status.INVALID_ARGUMENT,
    'not-found': status.NOT_FOUND,
    overloaded: status.UNAVAILABLE,
    'not-ready': status.UNAVAILABLE,
    'worker-failed': status.UNAVAILABLE,
    'client-closed': status.CANCELLED,
    unauthorized: status.UNAUTHENTICATED,
    forbidden: status.PERMISSION_DENIED,
    'body-too-large': status.RESOURCE_EXHAUSTED,
    'rate-limited': status.RESOURCE_EXHAUSTED,
    'internal-error': status.INTERNAL,
    'model-control-disabled': status.UNAVAILABLE,
    'queue-timeout': status.UNAVAILABLE,
    'too-many-sequences': status.UNAVAILABLE,
    'sequence-store-unavailable': status.UNAVAILABLE,
    'sequence-conflict': status.ABORTED,
    'non-finite-result': status.OUT_OF_RANGE,
  };
  for (const [kind, code] of Object.entries(expected)) t.equal(CODE_OF_KIND[kind as ProblemKind], code, kind);
  t.same(Object.keys(CODE_OF_KIND).sort(), Object.keys(PROBLEM_KINDS).sort(), 'every kind has one');
  for (const [kind, code] of Object.entries(CODE_OF_KIND)) t.not(code, status.OK, `${kind} is not OK`);
  // What HTTP answers 503 (retry later) is UNAVAILABLE, which gRPC clients retry; nothing else is.
  for (const [kind, { status: http }] of Object.entries(PROBLEM_KINDS))
    t.equal(CODE_OF_KIND[kind as ProblemKind] === status.UNAVAILABLE, http === 503, `${kind}: ${http}`);
});

t.test("the message is the problem's, and a Retry-After goes along as trailing metadata", async (t) => {
  const limit = ProblemError.at('limit-exceeded', [
    { path: 'inputs[0].shape[1]', message: 'is 20000; the limit is 10000 (MAX_TIME_STEPS)' },
  ]);
  const invalid = problemStatus(limit);
  t.equal(invalid.code, status.INVALID_ARGUMENT);
  t.equal(invalid.details, 'inputs[0].shape[1]: is 20000; the limit is 10000 (MAX_TIME_STEPS)');
  t.same(invalid.metadata.getMap(), {});
  const busy = problemStatus(new ProblemError('overloaded', 'busy; retry after 3 s', [], { 'retry-after': '3' }));
  t.equal(busy.code, status.UNAVAILABLE);
  t.same(busy.metadata.getMap(), { 'retry-after': '3', 'grpc-retry-pushback-ms': '3000' });
});

t.test('an unexpected error is INTERNAL with nothing of it shown, and handed over to be logged', async (t) => {
  const seen: unknown[] = [];
  const bug = new TypeError('x is undefined');
  const answered = errorStatus(bug, (error) => seen.push(error));
  t.equal(answered.code, status.INTERNAL);
  t.equal(answered.details, INTERNAL_ERROR_MESSAGE);
  t.same(seen, [bug]);
  t.same(errorStatus(new ProblemError('not-found', 'no'), () => t.fail('a problem is not logged')).details, 'no');
});
