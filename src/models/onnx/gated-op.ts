/**
 * The ONNX `LSTM` and `GRU` operators (opset 14: https://onnx.ai/onnx/operators/onnx__LSTM.html,
 * https://onnx.ai/onnx/operators/onnx__GRU.html) run by our engine, one LSTM or GRU pass per direction
 * (recurrent-io.ts runRecurrentNode), with G = 4 (LSTM) or 3 (GRU) gate blocks of hidden rows:
 *   X, sequence_lens, initial_h, Y, Y_h   as RNN (recurrent-io.ts)
 *   W   [dirs, G·hidden, input]   gate blocks i, o, f, c (LSTM) or z, r, h (GRU) → Keras kernel, blocks i, f, c, o / z, r, h
 *   R   [dirs, G·hidden, hidden]  likewise → recurrent kernel
 *   B   [dirs, 2·G·hidden] optional = [Wb, Rb]: LSTM and GRU with linear_before_reset 0 sum them (float32), a
 *       GRU with linear_before_reset 1 keeps both (the engine's resetAfter bias [2, 3·h])
 *   initial_c [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]) optional (LSTM), else zeros
 *   P   [dirs, 3·hidden] optional (LSTM peepholes): the engine has none, so P must be a constant of zeros
 *   Y_c [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]) (LSTM): the cell state after the last valid step
 * The conversions are layouts.ts's kerasFromOnnx (whole gate blocks copied, no arithmetic but the bias sum).
 *
 * `activations`: LSTM takes f, g, h per direction (default Sigmoid, Tanh, Tanh), GRU f, g (Sigmoid, Tanh). f
 * is the engine's recurrentActivation (the gates); g and h are both its `activation`, so an LSTM whose g and h
 * differ is refused. `input_forget` 1 (coupled input and forget gates) is refused: the engine's LSTM has no such
 * form. Past a sequence's length Y is 0; for a sequence of length 0, Y_h and Y_c are 0, as onnxruntime answers.
 */
import { type ActivationName, gateCount } from '../../engine/index.js';
import { Attributes, nodeLabel } from './attributes.js';
import { type OnnxNode, fail } from './decode.js';
import { type Operator, required } from './operator.js';
import {
  type RecurrentAttributes,
  directionsOf,
  expectMeta,
  readActivations,
  readRecurrentAttributes,
  recurrentCost,
  recurrentWorkBytes,
  runRecurrentNode,
  sequenceShape,
} from './recurrent-io.js';
import type { Tensor, TensorMeta } from './tensor.js';

type GatedCell = 'lstm' | 'gru';

export interface GatedSettings extends RecurrentAttributes {
  readonly cell: GatedCell;
  /** For messages raised while planning at load (P). */
  readonly label: string;
  /** Per direction: the gates' function (ONNX f). */
  readonly gates: readonly ActivationName[];
  /** Per direction: the candidate's (ONNX g) and, for LSTM, the output's (ONNX h). */
  readonly candidates: readonly ActivationName[];
  /** GRU only: linear_before_reset = 1, the engine's resetAfter. */
  readonly linearBeforeReset: boolean;
}

const COMMON = ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'layout'];

function prepareLstm(node: OnnxNode): GatedSettings {
  const a = new Attributes(node, [...COMMON, 'input_forget']);
  const label = nodeLabel(node);
  const attributes = readRecurrentAttributes(a);
  const inputForget = a.int('input_forget', 0);
  if (inputForget !== 0)
    fail(
      `${label}: attribute 'input_forget' is ${inputForget}; only 0 is supported (the engine's LSTM has separate input and forget gates)`,
    );
  const dirs = directionsOf(attributes.direction);
  const names = readActivations(a, dirs, ['Sigmoid', 'Tanh', 'Tanh'], '3 per direction: f, g, h');
  const gates: ActivationName[] = [];
  const candidates: ActivationName[] = [];
  for (let d = 0; d < dirs; d++) {
    const [f, g, h] = names.slice(3 * d, 3 * d + 3);
    if (g !== h)
      fail(
        `${label}: activations of direction ${d} have g '${a.strings('activations')?.[3 * d + 1]}' and h '${a.strings('activations')?.[3 * d + 2]}'; ` +
          'the engine applies one function to both (use the same for g and h)',
      );
    gates.push(f);
    candidates.push(g);
  }
  return { ...attributes, cell: 'lstm', label, gates, candidates, linearBeforeReset: false };
}

function prepareGru(node: OnnxNode): GatedSettings {
  const a = new Attributes(node, [...COMMON, 'linear_before_reset']);
  const label = nodeLabel(node);
  const attributes = readRecurrentAttributes(a);
  const linearBeforeReset = a.int('linear_before_reset', 0);
  if (linearBeforeReset !== 0 && linearBeforeReset !== 1)
    fail(`${label}: attribute 'linear_before_reset' is ${linearBeforeReset}; expected 0 or 1`);
  const names = readActivations(a, directionsOf(attributes.direction), ['Sigmoid', 'Tanh'], '2 per direction: f, g');
  return {
    ...attributes,
    cell: 'gru',
    label,
    gates: names.filter((_, i) => i % 2 === 0),
    candidates: names.filter((_, i) => i % 2 === 1),
    linearBeforeReset: linearBeforeReset === 1,
  };
}

/** Peepholes: accepted only as an initializer (or Constant) of zeros; refused at load otherwise. */
function checkPeepholes(settings: GatedSettings, p: TensorMeta, dirs: number): void {
  const { label, hiddenSize } = settings;
  expectMeta(p, 'P', [dirs, 3 * hiddenSize]);
  if (p.known === undefined)
    fail(
      `${label}: input P (peepholes) is not an initializer or a Constant; only constant all-zero peepholes are supported`,
    );
  const at = p.known.data.findIndex((v) => v !== 0);
  if (at >= 0)
    fail(
      `${label}: input P (peepholes) is ${p.known.data[at]} at [${Math.floor(at / (3 * hiddenSize))}, ${at % (3 * hiddenSize)}]; ` +
        'only all-zero peepholes are supported (the engine has no peephole connections)',
    );
}

function infer(settings: GatedSettings, inputs: readonly (TensorMeta | null)[]): TensorMeta[] {
  const { cell, hiddenSize: h, direction, layout } = settings;
  const dirs = directionsOf(direction);
  const g = gateCount(cell);
  const [seq, batch, inputSize] = sequenceShape(required(inputs, 0, 'X'), layout);
  const state = layout === 0 ? [dirs, batch, h] : [batch, dirs, h];
  expectMeta(required(inputs, 1, 'W'), 'W', [dirs, g * h, inputSize]);
  expectMeta(required(inputs, 2, 'R'), 'R', [dirs, g * h, h]);
  expectMeta(inputs[3] ?? null, 'B', [dirs, 2 * g * h]);
  expectMeta(inputs[4] ?? null, 'sequence_lens', [batch], 'int');
  expectMeta(inputs[5] ?? null, 'initial_h', state);
  if (cell === 'lstm') {
    expectMeta(inputs[6] ?? null, 'initial_c', state);
    const p = inputs[7] ?? null;
    if (p !== null) checkPeepholes(settings, p, dirs);
  }
  const y = layout === 0 ? [seq, dirs, batch, h] : [batch, seq, dirs, h];
  const outputs: TensorMeta[] = [
    { type: 'float', shape: y },
    { type: 'float', shape: state },
  ];
  if (cell === 'lstm') outputs.push({ type: 'float', shape: state });
  return outputs;
}

function cost({ cell, hiddenSize, direction }: GatedSettings, inputs: readonly (TensorMeta | null)[]): number {
  return recurrentCost(cell, hiddenSize, direction, inputs);
}

function workBytes(settings: GatedSettings, inputs: readonly (TensorMeta | null)[]): number {
  const { cell, hiddenSize, direction, layout, linearBeforeReset } = settings;
  return recurrentWorkBytes({ cell, resetAfter: linearBeforeReset }, hiddenSize, direction, layout, inputs);
}

function run(settings: GatedSettings, inputs: readonly (Tensor | null)[], metas: readonly TensorMeta[]): Tensor[] {
  const { cell, linearBeforeReset } = settings;
  const directionCell = (d: number) => ({
    spec: { cell, recurrentActivation: settings.gates[d], resetAfter: linearBeforeReset },
    activation: settings.candidates[d],
  });
  return runRecurrentNode(settings, directionCell, inputs, metas);
}

export const LSTM: Operator<GatedSettings> = {
  inputs: [3, 8],
  outputs: [0, 3],
  prepare: prepareLstm,
  infer,
  cost,
  workBytes,
  run,
};

export const GRU: Operator<GatedSettings> = {
  inputs: [3, 6],
  outputs: [0, 2],
  prepare: prepareGru,
  infer,
  cost,
  workBytes,
  run,
};
