/**
 * POST /models/{name}/forward on ONNX models: `inputs` feeds the graph's one input (nested, flat, or token ids as
 * [batch][time][1]), `outputs` is its first output and `states` its h_n (nn.RNN, nn.LSTM, nn.GRU), checked against
 * torch's outputs; what describes our RNN models, or a graph with several inputs, is refused naming the protocol
 * route.
 */
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { type FixtureTensor, fixtureCases, maxDiff, onnxRepository } from '../../../helpers/onnx.js';

const TOLERANCE = 1e-5;

/** A flat fixture tensor as nested arrays. */
function nested(t: FixtureTensor): unknown {
  const build = (depth: number, offset: number): unknown => {
    if (depth === t.shape.length) return t.data[offset];
    const stride = t.shape.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: t.shape[depth] }, (_, i) => build(depth + 1, offset + i * stride));
  };
  return build(0, 0);
}

const flatten = (value: unknown): number[] => (Array.isArray(value) ? value.flatMap(flatten) : [value as number]);

async function setUp(t: Parameters<typeof build>[0]) {
  const names = ['rnn-1-tanh-bf', 'rnn-3-bi-tanh-bf', 'embedding-classifier', 'rnn-2-bi-relu-nobias-h0'];
  return (await build(t, { models: { dir: onnxRepository(t, names) } })).app;
}

t.test('outputs and states of a batch-first nn.RNN, as torch computes them', async (t) => {
  const app = await setUp(t);
  for (const name of ['rnn-1-tanh-bf', 'rnn-3-bi-tanh-bf']) {
    for (const c of fixtureCases(name)) {
      const res = await app.inject({
        method: 'POST',
        url: `/models/${name}/forward`,
        payload: { inputs: nested(c.inputs.x) },
      });
      t.equal(res.statusCode, 200, res.statusCode === 200 ? name : res.body);
      const body = res.json();
      t.ok(maxDiff(flatten(body.outputs), c.outputs.y.data) <= TOLERANCE, `${name}: outputs are y`);
      t.ok(maxDiff(flatten(body.states), c.outputs.h_n.data) <= TOLERANCE, `${name}: states are h_n`);
      const [k, batch, hidden] = c.outputs.h_n.shape;
      t.same(body.shapes, {
        inputs: c.inputs.x.shape,
        outputs: c.outputs.y.shape,
        states: k === 1 ? [batch, hidden] : Array.from({ length: k }, () => [batch, hidden]),
      });
      if (k === 1) t.equal(body.states.length, batch, 'one layer and direction: one [batch, hidden] matrix');
      else t.equal(body.states.length, k, 'one [batch, hidden] matrix per layer and direction');
      t.equal(body.model, null);
      t.same(body.graph.producer, 'pytorch 1.13.0');
    }
  }
});

t.test('a batch-first nn.LSTM or nn.GRU: outputs are y and states h_n (c_n: the protocol route only)', async (t) => {
  const names = ['lstm-1-bf', 'lstm-1-bi-bf', 'gru-1-bf', 'gru-1-bi-bf'];
  const { app } = await build(t, { models: { dir: onnxRepository(t, names) } });
  for (const name of names) {
    for (const c of fixtureCases(name)) {
      const res = await app.inject({
        method: 'POST',
        url: `/models/${name}/forward`,
        payload: { inputs: nested(c.inputs.x) },
      });
      t.equal(res.statusCode, 200, res.statusCode === 200 ? name : res.body);
      const body = res.json();
      t.ok(maxDiff(flatten(body.outputs), c.outputs.y.data) <= TOLERANCE, `${name}: outputs are y`);
      t.ok(maxDiff(flatten(body.states), c.outputs.h_n.data) <= TOLERANCE, `${name}: states are h_n`);
      t.same(body.shapes.outputs, c.outputs.y.shape);
    }
  }
});

t.test('token ids as [batch][time][1] or flat [batch, time]; flat answers', async (t) => {
  const app = await setUp(t);
  const [c] = fixtureCases('embedding-classifier');
  const ids = c.inputs.ids;
  const asSteps = (nested(ids) as number[][]).map((sequence) => sequence.map((id) => [id]));
  for (const inputs of [asSteps, { shape: ids.shape, data: ids.data }]) {
    const res = await app.inject({
      method: 'POST',
      url: '/models/embedding-classifier/forward',
      payload: { inputs, outputFormat: 'flat' },
    });
    t.equal(res.statusCode, 200, res.statusCode === 200 ? 'ids' : res.body);
    const body = res.json();
    t.same(body.outputs.shape, c.outputs.probs.shape);
    t.ok(maxDiff(body.outputs.data, c.outputs.probs.data) <= TOLERANCE, 'probs as torch');
    t.equal(body.states, undefined, 'a graph with one output answers no states');
    t.same(body.shapes, { inputs: ids.shape, outputs: c.outputs.probs.shape });
  }
  const [rnn] = fixtureCases('rnn-1-tanh-bf');
  const noStates = await app.inject({
    method: 'POST',
    url: '/models/rnn-1-tanh-bf/forward',
    payload: { inputs: nested(rnn.inputs.x), returnState: false },
  });
  t.equal(noStates.json().states, undefined, 'returnState false: no states');
  t.same(noStates.json().shapes, { inputs: rnn.inputs.x.shape, outputs: rnn.outputs.y.shape });
});

t.test('what this body cannot say to a graph is refused, naming the field and the protocol route', async (t) => {
  const app = await setUp(t);
  const cases: [string, string, object, string, RegExp][] = [
    [
      'text',
      'rnn-1-tanh-bf',
      { text: ['hello'] },
      'text',
      /^is not taken by model 'rnn-1-tanh-bf', an ONNX graph: send the graph's inputs to POST \/v2\/models\/rnn-1-tanh-bf\/infer$/,
    ],
    ['lengths', 'rnn-1-tanh-bf', { inputs: [[[1, 2, 3]]], lengths: [1] }, 'lengths', /^is not taken by model/],
    [
      'a graph with two inputs',
      'rnn-2-bi-relu-nobias-h0',
      { inputs: [[[1, 2, 3]]] },
      'inputs',
      /^feeds one input; model 'rnn-2-bi-relu-nobias-h0' is an ONNX graph with inputs 'x', 'h0': name them in POST \/v2\/models\/rnn-2-bi-relu-nobias-h0\/infer$/,
    ],
    ['no inputs', 'rnn-1-tanh-bf', {}, 'inputs', /^is required \(the graph's input 'x'\)$/],
    [
      'returnSequences false',
      'rnn-1-tanh-bf',
      { inputs: [[[1, 2, 3]]], returnSequences: false },
      'returnSequences',
      /^is false; model 'rnn-1-tanh-bf' is an ONNX graph, whose outputs are what it computes/,
    ],
    [
      'features the graph does not take',
      'rnn-1-tanh-bf',
      { inputs: [[[1, 2, 3, 4, 5]]] },
      'inputs',
      /^is \[1, 1, 5\]; input 'x' is \[-1, -1, 3\] \(-1: any size\)$/,
    ],
    [
      'a ragged batch',
      'rnn-1-tanh-bf',
      {
        inputs: [
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [[1, 2, 3]],
        ],
      },
      'inputs[1]',
      /^has 1 entries; expected 2 \(dimension 1 of shape\)$/,
    ],
    [
      'an id that is not an integer',
      'embedding-classifier',
      { inputs: [[[1], [2.5]]] },
      'inputs[1]',
      /^is 2\.5; expected an integer \(input 'ids' is INT64\)$/,
    ],
  ];
  for (const [what, name, payload, path, message] of cases) {
    const res = await app.inject({ method: 'POST', url: `/models/${name}/forward`, payload });
    t.equal(res.statusCode, 400, what);
    const [error] = res.json().errors;
    t.equal(error.path, path, `${what}: path`);
    t.match(error.message, message, `${what}: ${error.message}`);
  }
});
