/**
 * Requests in flight are admitted against MEMORY_BUDGET_BYTES by their estimated memory: one that cannot fit
 * beside the others gets 503 + Retry-After, one that could never fit a 400 naming the budget, and what a
 * request reserved is given back when its response closes.
 */
import t from 'tap';
import type { ProblemError } from '../../src/errors/problem-error.js';
import { MemoryBudget, UNCOUNTED_BYTES } from '../../src/runtime/memory-budget.js';
import { build } from '../helpers/build.js';
import { sample } from '../helpers/metrics.js';

const MB = 2 ** 20;

t.test('reserve and release: refused when it does not fit beside the others, 400 when never', async (t) => {
  const budget = new MemoryBudget(10 * MB, 3);
  const a = budget.reserve(6 * MB, 'a');
  t.equal(budget.reserved, 6 * MB);
  t.equal(budget.requests, 1);
  const refused = t.throws(() => budget.reserve(5 * MB, "the request's estimated memory")) as unknown as ProblemError;
  t.equal(refused.status, 503);
  t.equal(refused.kind, 'overloaded');
  t.same(refused.headers, { 'retry-after': '3' });
  t.match(refused.message, /is 5242880 bytes; 6291456 of the 10485760 bytes of MEMORY_BUDGET_BYTES are held by 1/);
  const never = t.throws(() => budget.reserve(11 * MB, 'x')) as unknown as ProblemError;
  t.equal(never.status, 400);
  t.match(never.errors[0].message, /x is 11534336; the limit is 10485760 \(MEMORY_BUDGET_BYTES\)/);
  a();
  a();
  t.equal(budget.reserved, 0, 'released once, however often called');
  const b = budget.reserve(10 * MB, 'b');
  t.equal(budget.reserved, 10 * MB, 'the whole budget for one request');
  b();
  t.equal(budget.requests, 0);
});

t.test('loaded models hold part of the budget: requests get what they leave, models what requests leave', async (t) => {
  const budget = new MemoryBudget(10 * MB, 1);
  const model = budget.holdModel(4 * MB, "model 'm' version 1");
  t.equal(budget.resident, 4 * MB);
  const never = t.throws(() => budget.reserve(7 * MB, 'x')) as unknown as ProblemError;
  t.equal(never.status, 400, 'larger than what the models leave: it could never fit');
  t.match(
    never.errors[0].message,
    /x is 7340032; the limit is 6291456 \(MEMORY_BUDGET_BYTES less 4194304 bytes held by loaded models\)/,
  );
  const request = budget.reserve(5 * MB, 'a');
  const busy = t.throws(() => budget.reserve(2 * MB, "the request's estimated memory")) as unknown as ProblemError;
  t.equal(busy.status, 503);
  t.match(
    busy.message,
    /9437184 of the 10485760 bytes of MEMORY_BUDGET_BYTES are held by 1 request\(s\) in flight and 4194304 by 1 loaded model\(s\)/,
  );
  t.throws(() => budget.holdModel(2 * MB, "model 'n' version 1"), {
    message:
      /^model 'n' version 1 needs an estimated 2097152 bytes resident; 9437184 of the 10485760 bytes of MEMORY_BUDGET_BYTES are held by 1 request\(s\) in flight and 4194304 by 1 loaded model\(s\)$/,
  });
  request();
  const other = budget.holdModel(2 * MB, "model 'n' version 1");
  model();
  model();
  t.equal(budget.resident, 2 * MB, 'given back once, however often called');
  other();
  const off = new MemoryBudget(0, 1);
  off.holdModel(2 ** 40, 'huge');
  t.equal(off.resident, 2 ** 40, 'counted without a budget too (the gauge shows it)');
});

t.test('small requests are not counted; a budget of 0 admits everything', async (t) => {
  const budget = new MemoryBudget(MB, 1);
  budget.reserve(UNCOUNTED_BYTES - 1, 'small');
  t.equal(budget.reserved, 0);
  const off = new MemoryBudget(0, 1);
  off.reserve(2 ** 40, 'huge');
  t.equal(off.reserved, 0);
});

/** A forward body estimated at several MB: flat inputs [4, 500, 8], hiddenSize 64, outputs kept. */
const LARGE = {
  inputs: { shape: [4, 500, 8], data: Array.from({ length: 4 * 500 * 8 }, (_, i) => Math.sin(i)) },
  hiddenSize: 64,
  seed: 3,
  outputFormat: 'flat',
};

t.test('over HTTP: a request larger than the whole budget is a 400 naming it', async (t) => {
  const { app } = await build(t, { overload: { memoryBudgetBytes: MB } });
  const response = await app.inject({ method: 'POST', url: '/rnn/forward', payload: LARGE });
  t.equal(response.statusCode, 400);
  t.match(response.json().errors[0], {
    path: '$',
    message: /estimated memory is \d+; the limit is 1048576 \(MEMORY_BUDGET_BYTES\)/,
  });
});

t.test('over HTTP: two large requests at once where one fits get 200 and 503, then both fit in turn', async (t) => {
  // The estimate of LARGE: ~3.2 MB (0.5 MB of sequences, 2.6 MB of answer as float32 and JSON): 5 MB hold one.
  const { app } = await build(t, {
    overload: { memoryBudgetBytes: 5 * MB, retryAfterSeconds: 2 },
    pool: { threads: 1, minCompute: 0, minBodyBytes: 0 },
  });
  const [first, second] = await Promise.all([
    app.inject({ method: 'POST', url: '/rnn/forward', payload: LARGE }),
    app.inject({ method: 'POST', url: '/rnn/forward', payload: LARGE }),
  ]);
  t.same([first.statusCode, second.statusCode].sort(), [200, 503]);
  const refused = first.statusCode === 503 ? first : second;
  t.equal(refused.headers['retry-after'], '2');
  t.match(refused.json().detail, /MEMORY_BUDGET_BYTES/);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(sample(metrics.body, 'rnn_memory_budget_reserved_bytes'), 0, 'everything given back');
  t.equal(sample(metrics.body, 'rnn_memory_budget_bytes'), 5 * MB, 'the budget itself is a gauge too');
  const again = await app.inject({ method: 'POST', url: '/rnn/forward', payload: LARGE });
  t.equal(again.statusCode, 200, 'admitted once the first is done');
  const served = await app.inject({
    method: 'POST',
    url: '/rnn/weights',
    payload: { inputDim: 8, hiddenSize: 4, seed: 1 },
  });
  t.equal(served.statusCode, 200, 'small requests are not counted');
});
