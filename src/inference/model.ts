/**
 * The model description shared by POST /rnn/forward and POST /rnn/weights → an engine network: its
 * layer specs and its weights (seeded, or explicit in Keras, PyTorch or ONNX layout, converted to Keras).
 * Every contradiction or shape mismatch is a 400 naming the JSON path, what it has and what was expected.
 */
import type { z } from 'zod';
import type { ModelFields, ModelSummary } from '../../schemas/forward.js';
import type { Limits } from '../config/config.js';
import {
  biasLength,
  biasShape,
  type CellName,
  cellOf,
  DEFAULT_ACTIVATION,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  DEFAULT_UNIT_FORGET_BIAS,
  type DenseWeights,
  type EmbeddingWeights,
  type LayerSpec,
  type NetworkSpec,
  type NetworkWeights,
  type SimpleRnnWeights,
  addBiases,
  directionsOf,
  GATE_ORDERS,
  gateCount,
  kerasFromOnnx,
  kerasFromPytorch,
  outputFeatures,
  pytorchKey,
  transpose,
} from '../engine/index.js';
import { invalidAt, limitExceeded } from '../errors/problem-error.js';
import { type Matrix, ProblemList, count, readRectangular, readVector } from '../codec/tensors.js';
import { type SeededWeightsCache, seededWeightsCost, seededWeightsKey } from './weights-cache.js';

type FieldsOf<T extends Record<string, z.ZodType>> = { [K in keyof T]?: z.output<T[K]> };
export type ModelDescription = FieldsOf<typeof ModelFields>;

export interface ResolvedModel {
  readonly spec: NetworkSpec;
  readonly weights: NetworkWeights;
  readonly inputDim: number;
  readonly seed: number | null;
  /** Multiply-adds still needed to build the weights (seeded and not cached yet), else 0. */
  readonly buildCost: number;
  /** Imported models only: Keras Masking before the recurrent layers (steps whose features all equal it are masked). */
  readonly maskValue?: number | null;
  /**
   * Imported models only: Keras Embedding before the recurrent layers. The inputs are then ids,
   * [batch, time, 1] (`inputDim` is 1), looked up into [batch, time, outputDim] for the first recurrent layer.
   */
  readonly embedding?: EmbeddingWeights | null;
  /** Imported models only: Dense layers after the recurrent layers, on the last axis of the outputs. */
  readonly head?: readonly DenseWeights[];
  /**
   * Imported models only: the last recurrent layer returns its last step alone (Keras `return_sequences: false`,
   * a many-to-one model), so answers are [batch, features] and a request for every step is refused.
   */
  readonly lastStep?: boolean;
}

/** Features of the outputs a client receives: the last Dense layer's units, else the last recurrent layer's. */
export function modelOutputFeatures(model: ResolvedModel): number {
  const head = model.head ?? [];
  return head.length > 0 ? head[head.length - 1].units : outputFeatures(model.spec, model.spec.layers.length - 1);
}

/**
 * Whether the model's outputs are class probabilities: its last layer is a softmax Dense (or Activation) layer.
 * What decides that a layer model is a classifier, for topK, the classification extension and labels.txt.
 */
export function endsInSoftmax(model: ResolvedModel): boolean {
  const head = model.head ?? [];
  return head.length > 0 && head[head.length - 1].activation === 'softmax';
}

const SHORTHAND = [
  'hiddenSize',
  'activation',
  'useBias',
  'goBackwards',
  'clip',
  'cell',
  'recurrentActivation',
  'unitForgetBias',
  'resetAfter',
] as const;

/** Layer k's cell and GRU formulation as described (per layer, or the single-layer fields for every layer). */
function describedCell(model: ModelDescription, k: number): { cell: CellName; resetAfter: boolean } {
  const layer = model.layers?.[k] ?? (model.layers === undefined ? model : {});
  return { cell: cellOf(layer), resetAfter: layer.resetAfter ?? DEFAULT_RESET_AFTER };
}

/** The JSON path of a layer option: `layers[k].name` in a stack, else the single-layer field. */
const optionPath = (model: ModelDescription, k: number, name: string): string =>
  model.layers === undefined ? name : `layers[${k}].${name}`;

/** "lstm: 4·hiddenSize rows, gates i, f, g, o" (the gate order of a layout). */
function gatesText(cell: CellName, layout: 'keras' | 'pytorch' | 'onnx'): string {
  // PyTorch names Keras's candidate gate g (LSTM) and n (GRU).
  const renamed: Record<string, string> = layout === 'pytorch' ? { c: 'g', h: 'n' } : {};
  const gates = GATE_ORDERS[cell][layout].map((gate) => renamed[gate] ?? gate);
  return `${cell}: ${gateCount(cell)}·hiddenSize, gates ${gates.join(', ')}`;
}

/** One layer and direction's weights as read from the request, before they are checked against the spec. */
interface RawCell {
  /** JSON path of each tensor, for messages. */
  readonly paths: { kernel: string; recurrentKernel: string; bias: string };
  /** Keras layout [inputDim, G·hidden] (G gates: 1 simpleRNN, 4 lstm, 3 gru). */
  readonly kernel: Matrix;
  /** Keras layout [hidden, G·hidden]. */
  readonly recurrentKernel: Matrix;
  /** null when the request has no bias for this cell. */
  readonly bias: Float32Array | null;
  /** The bias's shape as sent (a GRU with resetAfter has [2, 3·hidden]); absent: [bias.length]. */
  readonly biasShape?: readonly number[];
  /** ONNX only: B may be left out, meaning zeros (as ONNX defines it), even when the layer uses a bias. */
  readonly biasMayBeAbsent?: boolean;
  /** From a PyTorch state_dict (its biases may be absent as a whole: nn.RNN(bias=False)). */
  readonly pytorch?: boolean;
}

const transposed = (m: Matrix): Matrix => ({ data: transpose(m.data, m.rows, m.cols), rows: m.cols, cols: m.rows });

/** Explicit weights in whichever layout was sent → cells grouped [layer][direction], or null when seeded. */
function readExplicitCells(model: ModelDescription, directions: number, problems: ProblemList): RawCell[][] | null {
  if (model.weights !== undefined) {
    const list = Array.isArray(model.weights) ? model.weights : [model.weights];
    const base = Array.isArray(model.weights) ? (i: number) => `weights[${i}]` : () => 'weights';
    if (list.length === 0) invalidAt('weights', 'is empty; expected one cell per layer and direction');
    if (list.length % directions !== 0) {
      invalidAt(
        'weights',
        `has ${count(list.length, 'cell')}; a bidirectional model needs 2 per layer (forward, backward)`,
      );
    }
    const cells = list.map((cell, i): RawCell => {
      const p = base(i);
      const paths = { kernel: `${p}.kernel`, recurrentKernel: `${p}.recurrentKernel`, bias: `${p}.bias` };
      const kernel = readRectangular(cell.kernel, paths.kernel, problems);
      const recurrentKernel = readRectangular(cell.recurrentKernel, paths.recurrentKernel, problems);
      if (cell.bias === undefined) return { paths, kernel, recurrentKernel, bias: null };
      if (cell.bias.length > 0 && Array.isArray(cell.bias[0])) {
        const bias = readRectangular(cell.bias as number[][], paths.bias, problems);
        return { paths, kernel, recurrentKernel, bias: bias.data, biasShape: [bias.rows, bias.cols] };
      }
      return { paths, kernel, recurrentKernel, bias: readVector(cell.bias as number[], paths.bias, problems) };
    });
    const layers: RawCell[][] = [];
    for (let k = 0; k < cells.length / directions; k++) layers.push(cells.slice(k * directions, (k + 1) * directions));
    return layers;
  }

  if (model.pytorchWeights !== undefined) {
    const dict = model.pytorchWeights;
    const KEY = /^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$/;
    let layerCount = 0;
    for (const key of Object.keys(dict)) {
      const m = KEY.exec(key);
      if (m === null)
        invalidAt(
          `pytorchWeights.${key}`,
          'is not an nn.RNN parameter (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with _reverse for the backward direction)',
        );
      if (m[3] !== undefined && directions === 1)
        invalidAt(`pytorchWeights.${key}`, 'is a backward-direction parameter but the model is not bidirectional');
      layerCount = Math.max(layerCount, Number(m[2]) + 1);
    }
    if (layerCount === 0) invalidAt('pytorchWeights', 'has no parameters; expected weight_ih_l0, weight_hh_l0, ...');
    const layers: RawCell[][] = [];
    for (let k = 0; k < layerCount; k++) {
      const directionCells: RawCell[] = [];
      const { cell, resetAfter } = describedCell(model, k);
      if (cell === 'gru' && !resetAfter)
        invalidAt(
          optionPath(model, k, 'resetAfter'),
          'is false, but PyTorch nn.GRU applies the reset gate after the recurrent product (resetAfter true): drop resetAfter, or send Keras or ONNX weights',
        );
      for (let d = 0; d < directions; d++) {
        const key = (kind: Parameters<typeof pytorchKey>[0]) => pytorchKey(kind, k, d);
        const path = (kind: Parameters<typeof pytorchKey>[0]) => `pytorchWeights.${key(kind)}`;
        if (cell !== 'simpleRNN') {
          directionCells.push(pytorchGatedCell(cell, dict, key, path, problems));
          continue;
        }
        const matrixAt = (kind: 'weight_ih' | 'weight_hh'): Matrix => {
          const value = dict[key(kind)];
          if (value === undefined) invalidAt(path(kind), 'is missing');
          if (!Array.isArray(value[0])) invalidAt(path(kind), 'is a vector; expected a matrix');
          return transposed(readRectangular(value as number[][], path(kind), problems));
        };
        const vectorAt = (kind: 'bias_ih' | 'bias_hh'): Float32Array | null => {
          const value = dict[key(kind)];
          if (value === undefined) return null;
          if (value.length > 0 && Array.isArray(value[0])) invalidAt(path(kind), 'is a matrix; expected a vector');
          return readVector(value as number[], path(kind), problems);
        };
        const biasIh = vectorAt('bias_ih');
        const biasHh = vectorAt('bias_hh');
        if ((biasIh === null) !== (biasHh === null)) {
          invalidAt(
            path(biasIh === null ? 'bias_ih' : 'bias_hh'),
            `is missing; nn.RNN has both biases or neither (${key(biasIh === null ? 'bias_hh' : 'bias_ih')} is present)`,
          );
        }
        let bias: Float32Array | null = null;
        if (biasIh !== null && biasHh !== null) {
          if (biasIh.length !== biasHh.length)
            invalidAt(
              path('bias_hh'),
              `has ${count(biasHh.length, 'entry', 'entries')}; expected ${biasIh.length} (${key('bias_ih')})`,
            );
          bias = addBiases(biasIh, biasHh);
        }
        directionCells.push({
          paths: { kernel: path('weight_ih'), recurrentKernel: path('weight_hh'), bias: path('bias_ih') },
          kernel: matrixAt('weight_ih'),
          recurrentKernel: matrixAt('weight_hh'),
          bias,
          pytorch: true,
        });
      }
      layers.push(directionCells);
    }
    return layers;
  }

  if (model.onnxWeights !== undefined) {
    if (model.onnxWeights.length === 0) invalidAt('onnxWeights', 'is empty; expected one RNN node per layer');
    return model.onnxWeights.map((node, k) => {
      const p = `onnxWeights[${k}]`;
      const { cell, resetAfter } = describedCell(model, k);
      if (node.P !== undefined && cell !== 'lstm')
        invalidAt(`${p}.P`, `is given, but peepholes belong to ONNX LSTM nodes and layer ${k} is ${cell}`);
      for (const [name, tensor] of [
        ['W', node.W],
        ['R', node.R],
        ['B', node.B],
        ['P', node.P],
      ] as const) {
        if (tensor !== undefined && tensor.length !== directions) {
          invalidAt(
            `${p}.${name}`,
            `has ${tensor.length} directions; expected ${directions} (${directions === 2 ? 'bidirectional' : 'forward'})`,
          );
        }
      }
      if (cell !== 'simpleRNN')
        return Array.from({ length: directions }, (_, d) => onnxGatedCell(cell, resetAfter, node, p, d, problems));
      return Array.from({ length: directions }, (_, d): RawCell => {
        const paths = { kernel: `${p}.W[${d}]`, recurrentKernel: `${p}.R[${d}]`, bias: `${p}.B[${d}]` };
        const kernel = transposed(readRectangular(node.W[d], paths.kernel, problems));
        const recurrentKernel = transposed(readRectangular(node.R[d], paths.recurrentKernel, problems));
        let bias: Float32Array | null = null;
        if (node.B !== undefined) {
          const both = readVector(node.B[d], paths.bias, problems);
          const h = recurrentKernel.rows;
          if (both.length !== 2 * h)
            invalidAt(
              paths.bias,
              `has ${count(both.length, 'entry', 'entries')}; expected ${2 * h} (2·hiddenSize: Wb then Rb)`,
            );
          bias = addBiases(both.subarray(0, h), both.subarray(h));
        }
        return { paths, kernel, recurrentKernel, bias, biasMayBeAbsent: true };
      });
    });
  }
  return null;
}

type PytorchKind = Parameters<typeof pytorchKey>[0];

/** `[rows, cols]` of a matrix as read. */
const dims = (m: Matrix): string => `[${m.rows}, ${m.cols}]`;

/**
 * One direction of an nn.LSTM / nn.GRU layer: weight_ih [G·h, inputDim], weight_hh [G·h, h] and biases [G·h]
 * in PyTorch's gate order, checked, then reordered into Keras's (layouts.ts; a GRU keeps both biases).
 */
function pytorchGatedCell(
  cell: Exclude<CellName, 'simpleRNN'>,
  dict: Record<string, number[] | number[][]>,
  key: (kind: PytorchKind) => string,
  path: (kind: PytorchKind) => string,
  problems: ProblemList,
): RawCell {
  const g = gateCount(cell);
  const matrixAt = (kind: 'weight_ih' | 'weight_hh'): Matrix => {
    const value = dict[key(kind)];
    if (value === undefined) invalidAt(path(kind), 'is missing');
    if (!Array.isArray(value[0])) invalidAt(path(kind), 'is a vector; expected a matrix');
    return readRectangular(value as number[][], path(kind), problems);
  };
  const weightIh = matrixAt('weight_ih');
  const weightHh = matrixAt('weight_hh');
  if (!problems.empty) throw problems.error();
  const h = weightHh.cols;
  if (weightHh.rows !== g * h)
    invalidAt(path('weight_hh'), `is ${dims(weightHh)}; expected [${g * h}, ${h}] (${gatesText(cell, 'pytorch')})`);
  if (weightIh.rows !== g * h)
    invalidAt(
      path('weight_ih'),
      `is ${dims(weightIh)}; expected [${g * h}, inputDim] (${gatesText(cell, 'pytorch')}, hiddenSize ${h} from ${key('weight_hh')})`,
    );
  const vectorAt = (kind: 'bias_ih' | 'bias_hh'): Float32Array | null => {
    const value = dict[key(kind)];
    if (value === undefined) return null;
    if (value.length > 0 && Array.isArray(value[0])) invalidAt(path(kind), 'is a matrix; expected a vector');
    const bias = readVector(value as number[], path(kind), problems);
    if (bias.length !== g * h)
      invalidAt(
        path(kind),
        `has ${count(bias.length, 'entry', 'entries')}; expected ${g * h} (${gatesText(cell, 'pytorch')})`,
      );
    return bias;
  };
  const biasIh = vectorAt('bias_ih');
  const biasHh = vectorAt('bias_hh');
  if ((biasIh === null) !== (biasHh === null)) {
    const missing = biasIh === null ? 'bias_ih' : 'bias_hh';
    invalidAt(
      path(missing),
      `is missing; nn.${cell === 'lstm' ? 'LSTM' : 'GRU'} has both biases or neither (${key(biasIh === null ? 'bias_hh' : 'bias_ih')} is present)`,
    );
  }
  if (!problems.empty) throw problems.error();
  const keras = kerasFromPytorch(
    cell,
    { weightIh: weightIh.data, weightHh: weightHh.data, biasIh, biasHh },
    weightIh.cols,
    h,
  );
  return {
    paths: { kernel: path('weight_ih'), recurrentKernel: path('weight_hh'), bias: path('bias_ih') },
    kernel: { data: keras.kernel, rows: weightIh.cols, cols: g * h },
    recurrentKernel: { data: keras.recurrentKernel, rows: h, cols: g * h },
    bias: biasIh === null ? null : keras.bias,
    biasShape: biasShape(cell, h),
    pytorch: true,
  };
}

/**
 * One direction of an ONNX LSTM / GRU node: W [G·h, inputDim], R [G·h, h], B [2·G·h] in ONNX's gate order,
 * checked, then reordered into Keras's. Peepholes P have no Keras counterpart: only zeros pass.
 */
function onnxGatedCell(
  cell: Exclude<CellName, 'simpleRNN'>,
  resetAfter: boolean,
  node: NonNullable<ModelDescription['onnxWeights']>[number],
  p: string,
  d: number,
  problems: ProblemList,
): RawCell {
  const g = gateCount(cell);
  const paths = { kernel: `${p}.W[${d}]`, recurrentKernel: `${p}.R[${d}]`, bias: `${p}.B[${d}]` };
  const W = readRectangular(node.W[d], paths.kernel, problems);
  const R = readRectangular(node.R[d], paths.recurrentKernel, problems);
  if (!problems.empty) throw problems.error();
  const h = R.cols;
  if (R.rows !== g * h)
    invalidAt(paths.recurrentKernel, `is ${dims(R)}; expected [${g * h}, ${h}] (${gatesText(cell, 'onnx')})`);
  if (W.rows !== g * h)
    invalidAt(
      paths.kernel,
      `is ${dims(W)}; expected [${g * h}, inputDim] (${gatesText(cell, 'onnx')}, hiddenSize ${h} from R)`,
    );
  let B: Float32Array | null = null;
  if (node.B !== undefined) {
    B = readVector(node.B[d], paths.bias, problems);
    if (B.length !== 2 * g * h)
      invalidAt(
        paths.bias,
        `has ${count(B.length, 'entry', 'entries')}; expected ${2 * g * h} (2·${g}·hiddenSize: Wb then Rb)`,
      );
  }
  if (node.P !== undefined) {
    const P = node.P[d];
    if (P.length !== 3 * h)
      invalidAt(`${p}.P[${d}]`, `has ${count(P.length, 'entry', 'entries')}; expected ${3 * h} (3·hiddenSize)`);
    const nonZero = P.findIndex((v) => v !== 0);
    if (nonZero >= 0)
      invalidAt(
        `${p}.P[${d}][${nonZero}]`,
        `is ${P[nonZero]}: peepholes have no Keras counterpart and are not supported; only all-zero P (no peepholes) is accepted`,
      );
  }
  if (!problems.empty) throw problems.error();
  const keras = kerasFromOnnx(cell, { W: W.data, R: R.data, B }, W.cols, h, cell === 'gru' && resetAfter);
  return {
    paths,
    kernel: { data: keras.kernel, rows: W.cols, cols: g * h },
    recurrentKernel: { data: keras.recurrentKernel, rows: h, cols: g * h },
    bias: B === null ? null : keras.bias,
    biasShape: biasShape(cell, h, resetAfter),
    biasMayBeAbsent: true,
  };
}

const WEIGHT_SOURCES = ['seed', 'weights', 'pytorchWeights', 'onnxWeights'] as const;

/** Checks that only one source of weights is given and the layer fields are used one way or the other. */
function checkExclusive(model: ModelDescription): void {
  let first: (typeof WEIGHT_SOURCES)[number] | null = null;
  for (const key of WEIGHT_SOURCES) {
    if (model[key] === undefined) continue;
    if (first !== null) invalidAt(key, `cannot be combined with ${first}; send one source of weights`);
    first = key;
  }
  if (model.layers !== undefined) {
    for (const key of SHORTHAND) {
      if (model[key] !== undefined)
        invalidAt(key, `cannot be combined with layers; set it on each layer (layers[k].${key})`);
    }
  }
}

/**
 * useBias when the request does not say: true, except for a PyTorch state_dict without the layer's bias entries,
 * which is how `nn.RNN(bias=False)` saves itself (saying `useBias: true` then is a contradiction, reported by
 * checkedWeights).
 */
function defaultUseBias(model: ModelDescription, layer: RawCell[] | undefined): boolean {
  if (model.pytorchWeights === undefined || layer === undefined) return true;
  return layer.some((cell) => cell.bias !== null);
}

function layerSpecs(model: ModelDescription, cells: RawCell[][] | null, limits: Limits): LayerSpec[] {
  const fromWeights = cells?.map((layer) => layer[0].recurrentKernel.rows);
  let described: {
    hiddenSize?: number;
    activation?: LayerSpec['activation'];
    useBias?: boolean;
    goBackwards?: boolean;
    clip?: number;
    cell?: CellName;
    recurrentActivation?: LayerSpec['activation'];
    unitForgetBias?: boolean;
    resetAfter?: boolean;
  }[];
  let hiddenPath: (k: number) => string;
  if (model.layers !== undefined) {
    if (model.layers.length === 0) invalidAt('layers', 'is empty; expected at least 1 layer');
    described = model.layers;
    hiddenPath = (k) => `layers[${k}].hiddenSize`;
    if (fromWeights !== undefined && fromWeights.length !== model.layers.length) {
      invalidAt('layers', `has ${count(model.layers.length, 'layer')} but the weights describe ${fromWeights.length}`);
    }
  } else {
    // The single-layer fields apply to every layer the explicit weights describe (one when seeded).
    described = fromWeights === undefined ? [model] : fromWeights.map(() => model);
    hiddenPath = () => 'hiddenSize';
  }
  if (described.length > limits.maxLayers)
    throw limitExceeded('layers', 'the number of layers', described.length, limits.maxLayers, 'MAX_LAYERS');

  const specs: LayerSpec[] = [];
  for (let k = 0; k < described.length; k++) {
    const layer = described[k];
    const weightsHidden = fromWeights?.[k];
    if (layer.hiddenSize !== undefined && weightsHidden !== undefined && layer.hiddenSize !== weightsHidden) {
      invalidAt(
        hiddenPath(k),
        `is ${layer.hiddenSize} but the weights of layer ${k} have ${weightsHidden} units; they must agree`,
      );
    }
    const size = layer.hiddenSize ?? weightsHidden;
    if (size === undefined) invalidAt(hiddenPath(k), 'is required unless weights are given');
    if (size === 0) invalidAt(cells![k][0].paths.recurrentKernel, 'is empty; expected [hiddenSize, hiddenSize]');
    if (size > limits.maxHiddenSize) {
      throw limitExceeded(
        weightsHidden === undefined ? hiddenPath(k) : cells![k][0].paths.recurrentKernel,
        'the hidden size',
        size,
        limits.maxHiddenSize,
        'MAX_HIDDEN_SIZE',
      );
    }
    specs.push({
      hiddenSize: size,
      activation: layer.activation ?? DEFAULT_ACTIVATION,
      useBias: layer.useBias ?? defaultUseBias(model, cells?.[k]),
      goBackwards: layer.goBackwards ?? false,
      clip: layer.clip ?? null,
      ...cellOptions(model, k, layer),
    });
  }
  return specs;
}

/**
 * A layer's cell and the options of that cell, defaults filled in; nothing for a SimpleRNN layer, so that its
 * spec (and the `model` summary written from it) stays what it was before there were other cells. An option of
 * another cell is a 400 naming it.
 */
function cellOptions(
  model: ModelDescription,
  k: number,
  layer: {
    cell?: CellName;
    recurrentActivation?: LayerSpec['activation'];
    unitForgetBias?: boolean;
    resetAfter?: boolean;
  },
): Pick<LayerSpec, 'cell' | 'recurrentActivation' | 'unitForgetBias' | 'resetAfter'> {
  const cell = cellOf(layer);
  const which = model.layers === undefined ? `the cell is ${cell}` : `layer ${k} is ${cell}`;
  const refuse = (name: string, applies: string) =>
    invalidAt(optionPath(model, k, name), `applies to ${applies} only, and ${which}: set cell, or drop ${name}`);
  if (layer.recurrentActivation !== undefined && cell === 'simpleRNN') refuse('recurrentActivation', 'lstm and gru');
  if (layer.unitForgetBias !== undefined && cell !== 'lstm') refuse('unitForgetBias', 'lstm');
  if (layer.resetAfter !== undefined && cell !== 'gru') refuse('resetAfter', 'gru');
  if (cell === 'simpleRNN') return {};
  const recurrentActivation = layer.recurrentActivation ?? DEFAULT_RECURRENT_ACTIVATION;
  if (cell === 'lstm')
    return { cell, recurrentActivation, unitForgetBias: layer.unitForgetBias ?? DEFAULT_UNIT_FORGET_BIAS };
  return { cell, recurrentActivation, resetAfter: layer.resetAfter ?? DEFAULT_RESET_AFTER };
}

/**
 * Checks each cell against its layer: kernel [in, G·h], recurrent kernel [h, G·h], bias [G·h] (a GRU with
 * resetAfter: [2, 3·h]) iff useBias.
 */
function checkedWeights(spec: NetworkSpec, cells: RawCell[][], inputDim: number): NetworkWeights {
  let layerInput = inputDim;
  const problems = new ProblemList();
  const weights = cells.map((layer, k) => {
    const { hiddenSize: h, useBias } = spec.layers[k];
    const cellName = cellOf(spec.layers[k]);
    const resetAfter = spec.layers[k].resetAfter ?? DEFAULT_RESET_AFTER;
    const columns = gateCount(cellName) * h;
    const gated = cellName !== 'simpleRNN';
    const expectedInput = k === 0 ? `inputDim, the features of inputs` : `the output features of layer ${k - 1}`;
    const expectedBias = biasShape(cellName, h, resetAfter);
    const result = layer.map((cell): SimpleRnnWeights => {
      const { kernel, recurrentKernel, bias, paths, biasMayBeAbsent } = cell;
      if (kernel.rows !== layerInput)
        problems.add(
          paths.kernel,
          `is [${kernel.rows}, ${kernel.cols}]; expected [${layerInput}, ${columns}] (${expectedInput})`,
        );
      else if (kernel.cols !== columns)
        problems.add(
          paths.kernel,
          `is [${kernel.rows}, ${kernel.cols}]; expected [${layerInput}, ${columns}] (${gated ? `${gatesText(cellName, 'keras')}, hiddenSize` : 'hiddenSize'} ${h})`,
        );
      if (recurrentKernel.cols !== columns || recurrentKernel.rows !== h) {
        problems.add(
          paths.recurrentKernel,
          `is [${recurrentKernel.rows}, ${recurrentKernel.cols}]; expected [${h}, ${columns}]${gated ? ` (${gatesText(cellName, 'keras')})` : ''}`,
        );
      }
      if (bias === null && useBias && !biasMayBeAbsent)
        problems.add(
          paths.bias,
          cell.pytorch && layer.every((c) => c.bias === null)
            ? `is missing, and useBias is true: a state_dict without bias entries is nn.RNN(bias=False); drop useBias or send bias_ih and bias_hh [${h}]`
            : `is missing; the layer uses a bias (useBias is true), expected [${expectedBias.join(', ')}]`,
        );
      if (bias !== null && !useBias) problems.add(paths.bias, 'is given but useBias is false; send no bias');
      if (bias !== null && !gated && bias.length !== h)
        problems.add(paths.bias, `has ${count(bias.length, 'entry', 'entries')}; expected ${h} (hiddenSize)`);
      const sent = cell.biasShape ?? [bias?.length ?? 0];
      if (bias !== null && gated && sent.join() !== expectedBias.join())
        problems.add(
          paths.bias,
          `is [${sent.join(', ')}]; expected [${expectedBias.join(', ')}] (${cellName === 'gru' ? `gru with resetAfter ${resetAfter}` : gatesText(cellName, 'keras')})`,
        );
      return {
        inputDim: layerInput,
        hiddenSize: h,
        kernel: kernel.data,
        recurrentKernel: recurrentKernel.data,
        bias: bias ?? new Float32Array(biasLength(cellName, h, resetAfter)),
      };
    });
    layerInput = outputFeatures(spec, k);
    return result;
  });
  if (!problems.empty) throw problems.error();
  return weights;
}

/**
 * A seeded model, its weights built on first use: where the pass runs on a worker, the worker builds them (a
 * QR for a large hidden size would otherwise hold the event loop), and the main thread never does. The
 * weights stay in the weights cache, not here: a model is kept across requests (`resolveModel`), and must not
 * keep a set the cache has let go. A class, not an object literal with getters: V8 builds those on a slow
 * path, which showed in every small request. (Spreading one would lose `weights` and `buildCost`: copy its
 * fields by name, as src/runtime/pool.ts does.)
 */
class SeededModel implements ResolvedModel {
  readonly #cache: SeededWeightsCache;
  /** The weights cache's key of this model's set, made once. */
  readonly #key: string;
  readonly #cost: number;

  constructor(
    readonly spec: NetworkSpec,
    readonly inputDim: number,
    readonly seed: number,
    cache: SeededWeightsCache,
  ) {
    this.#cache = cache;
    this.#key = seededWeightsKey(seed, spec, inputDim);
    this.#cost = seededWeightsCost(spec);
  }

  /** Nothing once the cache holds the set (built by an earlier request, here or on a worker). */
  get buildCost(): number {
    return this.#cache.hasKey(this.#key) ? 0 : this.#cost;
  }

  /**
   * From the cache, built if it does not hold them (read it once per use: with SEEDED_WEIGHTS_CACHE=0 every read
   * builds).
   */
  get weights(): NetworkWeights {
    return this.#cache.getKeyed(this.#key, this.seed, this.spec, this.inputDim);
  }
}

/** The description fields of a seeded model in the single-layer shorthand: all that resolving one reads. */
export const SEEDED_SHORTHAND_FIELDS = ['seed', ...SHORTHAND, 'bidirectional'] as const;

/** A seeded shorthand description's fields (`merge`: the merge mode, or '-' when not bidirectional) and input size. */
interface Shorthand {
  readonly inputDim: number;
  readonly seed: number | undefined;
  readonly hiddenSize: number | undefined;
  readonly activation: string | undefined;
  readonly useBias: boolean | undefined;
  readonly goBackwards: boolean | undefined;
  readonly clip: number | undefined;
  readonly cell: string | undefined;
  readonly recurrentActivation: string | undefined;
  readonly unitForgetBias: boolean | undefined;
  readonly resetAfter: boolean | undefined;
  readonly merge: string | null | undefined;
}

/** Whether a description is seeded and in the single-layer shorthand (no `layers`, no explicit weights). */
function isSeededShorthand(model: ModelDescription): boolean {
  return (
    model.layers === undefined &&
    model.weights === undefined &&
    model.pytorchWeights === undefined &&
    model.onnxWeights === undefined
  );
}

const mergeOf = (model: ModelDescription): string | null | undefined =>
  model.bidirectional === undefined ? '-' : model.bidirectional.mergeMode;

function shorthandOf(model: ModelDescription, inputDim: number): Shorthand {
  const { seed, hiddenSize, activation, useBias, goBackwards, clip } = model;
  const { cell, recurrentActivation, unitForgetBias, resetAfter } = model;
  return {
    inputDim,
    seed,
    hiddenSize,
    activation,
    useBias,
    goBackwards,
    clip,
    cell,
    recurrentActivation,
    unitForgetBias,
    resetAfter,
    merge: mergeOf(model),
  };
}

/** Whether a seeded shorthand description with this input size is the one `known` holds. */
function describes(known: Shorthand, model: ModelDescription, inputDim: number): boolean {
  return (
    known.inputDim === inputDim &&
    known.seed === model.seed &&
    known.hiddenSize === model.hiddenSize &&
    known.activation === model.activation &&
    known.useBias === model.useBias &&
    known.goBackwards === model.goBackwards &&
    known.clip === model.clip &&
    known.cell === model.cell &&
    known.recurrentActivation === model.recurrentActivation &&
    known.unitForgetBias === model.unitForgetBias &&
    known.resetAfter === model.resetAfter &&
    known.merge === mergeOf(model)
  );
}

const shorthandKey = (d: Shorthand): string =>
  `${d.inputDim} ${d.seed} ${d.hiddenSize} ${d.activation} ${d.useBias} ${d.goBackwards} ${d.clip} ${d.merge} ` +
  `${d.cell} ${d.recurrentActivation} ${d.unitForgetBias} ${d.resetAfter}`;

/** At most this many seeded shorthand models are kept per weights cache (each is a few small objects). */
const RESOLVED_MAX = 256;

interface Resolved {
  readonly shorthand: Shorthand;
  readonly limits: Limits;
  readonly model: ResolvedModel;
}

/**
 * Seeded shorthand models resolved before, per weights cache (one per app) and with the limits they passed:
 * by key, and the last one on its own (a client sending one model again and again, the common case, is
 * recognised by comparing its fields, without making a key).
 */
interface ResolvedModels {
  readonly byKey: Map<string, Resolved>;
  last: Resolved | null;
}

const resolvedSeeded = new WeakMap<SeededWeightsCache, ResolvedModels>();

/**
 * The description → its model: checked against the limits and the weights. A seeded shorthand description
 * (the common request: `hiddenSize`, `seed`, the layer options) resolved before under the same limits is not
 * checked again: the same model is returned, and its summary text is written once (forward-pass.ts). Resolving
 * one anew and writing its summary cost a hello request ~5 % of its throughput on the server
 * (docs/performance.md#where-the-time-goes).
 *
 * Fast path of: resolveDescription. test/inference/model-memo.test.ts holds the memo to it (the same
 * description gives the same model; each of the fields that make a model gives another).
 */
export function resolveModel(
  model: ModelDescription,
  inputDim: number,
  limits: Limits,
  cache: SeededWeightsCache,
): ResolvedModel {
  if (!isSeededShorthand(model)) return resolveDescription(model, inputDim, limits, cache);
  let resolved = resolvedSeeded.get(cache);
  if (resolved === undefined) {
    resolved = { byKey: new Map(), last: null };
    resolvedSeeded.set(cache, resolved);
  }
  const { last } = resolved;
  if (last !== null && last.limits === limits && describes(last.shorthand, model, inputDim)) return last.model;
  const shorthand = shorthandOf(model, inputDim);
  const key = shorthandKey(shorthand);
  let known = resolved.byKey.get(key);
  if (known === undefined || known.limits !== limits) {
    known = { shorthand, limits, model: resolveDescription(model, inputDim, limits, cache) };
    // Full: the oldest goes (Maps keep insertion order).
    if (!resolved.byKey.has(key) && resolved.byKey.size >= RESOLVED_MAX)
      resolved.byKey.delete(resolved.byKey.keys().next().value as string);
    resolved.byKey.set(key, known);
  }
  resolved.last = known;
  return known.model;
}

function resolveDescription(
  model: ModelDescription,
  inputDim: number,
  limits: Limits,
  cache: SeededWeightsCache,
): ResolvedModel {
  checkExclusive(model);
  const bidirectional = model.bidirectional === undefined ? null : { mergeMode: model.bidirectional.mergeMode ?? null };
  const directions = bidirectional === null ? 1 : 2;
  const problems = new ProblemList();
  const cells = readExplicitCells(model, directions, problems);
  if (!problems.empty) throw problems.error();

  const layers = layerSpecs(model, cells, limits);
  if (bidirectional !== null) {
    layers.forEach((layer, k) => {
      if (layer.goBackwards)
        invalidAt(
          model.layers ? `layers[${k}].goBackwards` : 'goBackwards',
          'cannot be combined with bidirectional (its backward direction already runs backwards)',
        );
    });
    if (bidirectional.mergeMode === null && layers.length > 1) {
      invalidAt(
        'bidirectional.mergeMode',
        'is null, which returns two sequences: only possible for a single layer (a stack needs one merged sequence between layers)',
      );
    }
  }
  const spec: NetworkSpec = { layers, bidirectional };
  if (cells === null) {
    return new SeededModel(spec, inputDim, model.seed ?? 0, cache);
  }
  return { spec, weights: checkedWeights(spec, cells, inputDim), inputDim, seed: null, buildCost: 0 };
}

export function modelSummary(model: ResolvedModel): ModelSummary {
  const { spec } = model;
  return {
    inputDim: model.inputDim,
    hiddenSize: spec.layers[spec.layers.length - 1].hiddenSize,
    seed: model.seed,
    layers: spec.layers.map((layer, k) => ({
      ...layer,
      ...(spec.layerBidirectional === undefined ? {} : { bidirectional: spec.layerBidirectional[k] }),
    })),
    bidirectional: spec.bidirectional,
  };
}

export { directionsOf };
