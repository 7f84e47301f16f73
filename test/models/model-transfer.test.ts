/**
 * model-transfer.ts sends a loaded model from the thread that loaded it: plain data and typed arrays whose buffers
 * move. Held to a real crossing (structuredClone with the buffers transferred, as postMessage does): explicit
 * weights arrive equal and leave the sender's detached, views into a shared slab are copied rather than moved, a
 * seeded model is resolved again to the same weights, and an ONNX program is prepared again and runs as before.
 */
import t from 'tap';
import { defaultModelConfig } from '../../src/models/model-config/model-config.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { resolveModel } from '../../src/inference/model.js';
import type { OnnxServedModel, RnnServedModel } from '../../src/models/model-file.js';
import { adoptSource } from '../../src/models/model-file.js';
import { fromTransfer, toTransfer } from '../../src/models/model-transfer.js';
import { loadOnnxProgram, planProgram, runProgram } from '../../src/models/onnx/program.js';
import { LIMITS, explicitModel, layer } from '../helpers/inference.js';
import { fixtureBytes, fixtureCases } from '../helpers/onnx.js';

const cache = new SeededWeightsCache(2);
const config = defaultModelConfig();
const cross = <T>(value: T, buffers: ArrayBuffer[]): T => structuredClone(value, { transfer: buffers });

const rnn = (model: RnnServedModel['model'], description = {}): RnnServedModel => ({
  kind: 'rnn',
  name: 'm',
  version: '2',
  file: 'm/2/model.json',
  description,
  model,
  vocabulary: ['a', 'b'],
  labels: ['x', 'y'],
  config,
});

t.test('explicit weights: moved, equal on arrival', async (t) => {
  const model = explicitModel({ layers: [layer(3, { cell: 'gru' }), layer(2)], bidirectional: null }, 2);
  const expected = model.weights.map((l) => l.map((c) => [[...c.kernel], [...c.recurrentKernel], [...c.bias]]));
  const { model: moved, buffers } = toTransfer(rnn(model));
  t.ok(buffers.length > 0);
  const arrived = fromTransfer(cross(moved, buffers), config, LIMITS, cache);
  if (arrived.kind !== 'rnn') throw new Error('expected a layer model');
  t.same(
    arrived.model.weights.map((l) => l.map((c) => [[...c.kernel], [...c.recurrentKernel], [...c.bias]])),
    expected,
  );
  t.same(arrived.model.spec, model.spec);
  t.same(
    [arrived.name, arrived.version, arrived.file, arrived.vocabulary, arrived.labels],
    ['m', '2', 'm/2/model.json', ['a', 'b'], ['x', 'y']],
  );
  t.equal(arrived.config, config, 'the configuration attached again on this side');
});

t.test('views into a shared slab are copied, so the slab stays with the sender', async (t) => {
  const slab = new Float32Array(16).map((_, i) => i);
  const base = explicitModel({ layers: [layer(1)], bidirectional: null }, 1);
  const cell = base.weights[0][0];
  const viewed = {
    ...base,
    weights: [
      [{ ...cell, kernel: slab.subarray(0, 1), recurrentKernel: slab.subarray(1, 2), bias: slab.subarray(2, 3) }],
    ],
  };
  const { model: moved, buffers } = toTransfer(rnn(viewed));
  t.notOk(buffers.includes(slab.buffer as ArrayBuffer), 'the slab is not moved');
  const arrived = fromTransfer(cross(moved, buffers), config, LIMITS, cache);
  if (arrived.kind !== 'rnn') throw new Error('expected a layer model');
  t.same([...arrived.model.weights[0][0].recurrentKernel], [1]);
  t.equal(slab.length, 16, 'the slab is intact');
});

t.test('seeded weights cross as their description and are built again', async (t) => {
  const description = { hiddenSize: 3, cell: 'lstm' as const, seed: 4 };
  const model = resolveModel(description, 2, LIMITS, cache);
  const { model: moved, buffers } = toTransfer(rnn(model, description));
  t.same(buffers, [], 'nothing to move');
  t.equal((moved as { model: unknown }).model, null);
  const arrived = fromTransfer(cross(moved, buffers), config, LIMITS, new SeededWeightsCache(2));
  if (arrived.kind !== 'rnn') throw new Error('expected a layer model');
  t.equal(arrived.model.seed, 4);
  t.same([...arrived.model.weights[0][0].kernel], [...model.weights[0][0].kernel], 'the same seeded weights');
});

t.test('an ONNX graph: its program prepared again; it runs as before', async (t) => {
  const bytes = fixtureBytes('rnn-1-tanh-bf');
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  const served: OnnxServedModel = {
    kind: 'onnx',
    name: 'g',
    version: '1',
    file: 'g/1/model.onnx',
    program: loadOnnxProgram(bytes),
    source: adoptSource(shared),
    labels: null,
    config,
  };
  const [{ inputs }] = fixtureCases('rnn-1-tanh-bf');
  const run = (program: typeof served.program) => {
    const plan = planProgram(program, new Map([['x', { type: 'float', shape: inputs.x.shape }]]));
    const x = { type: 'float' as const, shape: inputs.x.shape, data: Float32Array.from(inputs.x.data) };
    return [...(runProgram(program, plan, new Map([['x', x]])).get('y')?.data ?? [])];
  };
  const before = run(served.program);
  const { model: moved, buffers } = toTransfer(served);
  const arrived = fromTransfer(cross(moved, buffers), config, LIMITS, cache);
  if (arrived.kind !== 'onnx') throw new Error('expected a graph');
  shared[0] ^= 0xff;
  t.equal(arrived.source.bytes[0], shared[0], 'the file bytes are shared memory, not copied');
  shared[0] ^= 0xff;
  t.not(arrived.source.id, served.source.id, 'a new id on this side');
  t.notOk('labels' in arrived, 'no labels, none attached');
  const [initializer] = served.program.graph.initializers.values();
  t.equal(initializer.data.byteLength, 0, "the sender's initializers moved (detached)");
  t.same(run(arrived.program), before);
});
