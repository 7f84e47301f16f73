/**
 * tfjs-topology.ts reads the layers of a TF.js Layers modelTopology in the order they run. Held to a Sequential
 * model (both ways tfjs writes its layers), a functional chain as tfjs and Keras 2 write it and as Keras 3 does
 * (keras_history), the outputs a functional model returns (with return_state), and each refusal's one line.
 */
import t from 'tap';
import { TfjsModelError, isObject, layerAt, named, topologyOf } from '../../src/models/tfjs-topology.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof TfjsModelError) return error.message;
    throw error;
  }
  throw new Error('nothing was refused');
};
const rnn = { class_name: 'SimpleRNN', config: { name: 'rnn', units: 3 } };
const dense = { class_name: 'Dense', config: { name: 'head', units: 2 } };

t.test('Sequential: a list of layers, or config.layers; output 0', async (t) => {
  const topology = topologyOf({ class_name: 'Sequential', config: { name: 's', layers: [rnn, dense] } });
  t.same(
    topology.layers.map((l) => l.class_name),
    ['SimpleRNN', 'Dense'],
  );
  t.same(topology.outputs, [0]);
  t.same(
    topologyOf({ model_config: { class_name: 'Sequential', config: [rnn] } }).layers,
    [rnn],
    'model_config, a list',
  );
  t.equal(
    refusal(() => topologyOf({ class_name: 'Sequential', config: { layers: [] } })),
    'modelTopology.config.layers: is missing or empty',
  );
  t.equal(
    refusal(() => topologyOf({ class_name: 'Sequential', config: { layers: [rnn, { class_name: 'Dense' }] } })),
    'modelTopology.config.layers[1]: expected {class_name, config}',
  );
  t.equal(
    refusal(() => topologyOf({ class_name: 'Graph', config: {} })),
    'modelTopology: is a Graph; supported: Sequential, and functional models (Model, Functional) whose layers form one chain',
  );
  t.equal(
    refusal(() => topologyOf([])),
    'modelTopology: expected an object',
  );
});

/** A functional chain input → rnn → head, as tfjs and Keras 2 write its references. */
const functional = (outputs: unknown, headInput: unknown = [[['rnn', 0, 0, {}]]]) => ({
  class_name: 'Functional',
  config: {
    name: 'f',
    layers: [
      { class_name: 'InputLayer', config: { name: 'x' }, name: 'x', inbound_nodes: [] },
      { ...rnn, name: 'rnn', inbound_nodes: [[['x', 0, 0, {}]]] },
      { ...dense, name: 'head', inbound_nodes: headInput },
    ],
    input_layers: [['x', 0, 0]],
    output_layers: outputs,
  },
});

t.test('a functional chain: its layers in order, the last layer outputs it returns', async (t) => {
  const topology = topologyOf(functional([['head', 0, 0]]));
  t.same(
    topology.layers.map((l) => l.config.name),
    ['x', 'rnn', 'head'],
  );
  t.same(topology.outputs, [0]);
  // Keras 3: one call as {args: [{config: {keras_history}}]}, a single output written bare.
  const keras3 = functional(['head', 0, 0], [{ args: [{ config: { keras_history: ['rnn', 0, 0] } }], kwargs: {} }]);
  t.same(topologyOf(keras3).outputs, [0]);
  // return_state: the last layer's output and states, in order.
  const states = topologyOf({
    class_name: 'Model',
    config: {
      layers: [
        { class_name: 'InputLayer', config: { name: 'x' }, inbound_nodes: [] },
        {
          class_name: 'LSTM',
          config: { name: 'lstm', units: 2, return_state: true },
          inbound_nodes: [[['x', 0, 0, {}]]],
        },
      ],
      input_layers: [['x', 0, 0]],
      output_layers: [
        ['lstm', 0, 0],
        ['lstm', 0, 1],
        ['lstm', 0, 2],
      ],
    },
  });
  t.same(states.outputs, [0, 1, 2]);
});

t.test('a graph that is not a chain is refused naming the layer', async (t) => {
  t.equal(
    refusal(() => topologyOf(functional([['head', 0, 0]], [[['x', 0, 0, {}]]]))),
    "layer 2 (Dense 'head'): takes output 0 of 'x'; supported: a chain, each layer taking output 0 of the layer before ('rnn')",
  );
  t.equal(
    refusal(() =>
      topologyOf(
        functional(
          [['head', 0, 0]],
          [
            [
              ['rnn', 0, 0, {}],
              ['x', 0, 0, {}],
            ],
          ],
        ),
      ),
    ),
    `layer 2 (Dense 'head'): inbound_nodes is [[["rnn",0,0,{}],["x",0,0,{}]]]; expected one call on one tensor (a chain of layers)`,
  );
  t.equal(
    refusal(() => topologyOf(functional([['rnn', 0, 0]]))),
    "modelTopology.config.output_layers[0]: is output 0 of 'rnn'; supported: the outputs of the last layer ('head') in order",
  );
  t.equal(
    refusal(() => topologyOf(functional('head'))),
    'modelTopology.config.output_layers: is "head"; expected [[name, node, tensor], ...]',
  );
  const noInput = functional([['head', 0, 0]]);
  noInput.config.layers[0] = { ...rnn, name: 'rnn0', inbound_nodes: [] };
  t.equal(
    refusal(() => topologyOf(noInput)),
    "layer 0 (SimpleRNN 'rnn'): a functional model's first layer must be its InputLayer",
  );
  const otherInputs = functional([['head', 0, 0]]);
  (otherInputs.config as Record<string, unknown>).input_layers = [['y', 0, 0]];
  t.equal(
    refusal(() => topologyOf(otherInputs)),
    `modelTopology.config.input_layers: is [["y",0,0]]; expected [['x', 0, 0]]`,
  );
});

t.test('layerAt, named, isObject', async (t) => {
  const wrapped = { class_name: 'Bidirectional', config: { name: 'bi', layer: rnn } };
  t.equal(layerAt(wrapped, 'here'), wrapped);
  t.equal(
    refusal(() => layerAt({ class_name: 'Bidirectional', config: { layer: { class_name: 'LSTM' } } }, 'here')),
    'here: its wrapped layer: expected {class_name, config}',
  );
  t.equal(named(rnn, 3), "layer 3 (SimpleRNN 'rnn')");
  t.equal(named({ class_name: 'Dense', config: {} }, 0), 'layer 0 (Dense)');
  t.same([isObject({}), isObject([]), isObject(null), isObject('x')], [true, false, false, false]);
});
