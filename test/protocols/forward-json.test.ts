/**
 * forward-json.ts answers a POST /rnn/forward body given as bytes (what a worker does with a large body). Held to
 * the answer of a body worked by hand (one unit: h = tanh(x·w + h·u + b)), the shape and timing it reports, and
 * the same problems as the route: invalid JSON, a schema problem at its JSON path, a contradiction, a limit.
 */
import t from 'tap';
import { answerText } from '../../src/codec/json-stream.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { forwardFromJson } from '../../src/protocols/forward-json.js';
import { LIMITS, limits, problemOf } from '../helpers/inference.js';

const cache = new SeededWeightsCache(2);
const bytes = (body: unknown) => new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
const f = Math.fround;

t.test('a body worked by hand', async (t) => {
  const body = { inputs: [[[1], [-1]]], weights: { kernel: [[2]], recurrentKernel: [[0.5]], bias: [0.25] } };
  const { body: answer, shape, computeSeconds } = forwardFromJson(bytes(body), LIMITS, cache);
  const h1 = f(Math.tanh(2 + 0.25));
  const h2 = f(Math.tanh(f(-2 + f(0.5 * h1)) + 0.25));
  const json = JSON.parse(answerText(answer));
  t.ok(Math.abs(json.outputs[0][0][0] - h1) < 1e-6 && Math.abs(json.outputs[0][1][0] - h2) < 1e-6, 'the outputs');
  t.same(json.states, [[json.outputs[0][1][0]]], 'the state is the last output');
  t.same(json.shapes, { inputs: [1, 2, 1], outputs: [1, 2, 1], states: [1, 1] });
  t.same(shape, [1, 2, 1]);
  t.ok(computeSeconds >= 0 && computeSeconds < 1);
  const flat = JSON.parse(answerText(forwardFromJson(bytes({ ...body, outputFormat: 'flat' }), LIMITS, cache).body));
  t.same(flat.outputs.shape, [1, 2, 1]);
  t.same(flat.outputs.data, [json.outputs[0][0][0], json.outputs[0][1][0]]);
});

t.test('the same problems as the route', async (t) => {
  const notJson = problemOf(() => forwardFromJson(bytes('{"inputs": [1,'), LIMITS, cache));
  t.equal(notJson.kind, 'invalid-json');
  const schema = problemOf(() => forwardFromJson(bytes({ inputs: [[[1]]], hiddenSize: 'two' }), LIMITS, cache));
  t.equal(schema.kind, 'invalid-request');
  t.equal(schema.errors[0].path, 'hiddenSize');
  t.same(problemOf(() => forwardFromJson(bytes({ inputs: [[[1]]] }), LIMITS, cache)).errors, [
    { path: 'hiddenSize', message: 'is required unless weights are given' },
  ]);
  const limit = problemOf(() =>
    forwardFromJson(bytes({ inputs: [[[1], [1], [1]]], hiddenSize: 1 }), limits({ maxTimeSteps: 2 }), cache),
  );
  t.equal(limit.kind, 'limit-exceeded');
  t.match(limit.errors[0].message, /the limit is 2 \(MAX_TIME_STEPS\)$/);
});
