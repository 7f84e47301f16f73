import {
  biasLength,
  biasShape,
  type CellName,
  cellOf,
  DEFAULT_RESET_AFTER,
  type NetworkSpec,
  type NetworkWeights,
  type SimpleRnnWeights,
  addBiases,
  GATE_ORDERS,
  gateCount,
  kerasFromOnnx,
  kerasFromPytorch,
  outputFeatures,
  pytorchKey,
  transpose,
} from '../engine/index.js';
import { invalidAt } from '../errors/problem-error.js';
import { type Matrix, ProblemList, count, readRectangular, readVector } from '../codec/tensors.js';
import type { ModelDescription } from './model-description.js';

/** Layer k's cell and GRU formulation as described (per layer, or the single-layer fields for every layer). */
export function describedCell(model: ModelDescription, k: number): { cell: CellName; resetAfter: boolean } {
  const layer = model.layers?.[k] ?? (model.layers === undefined ? model : {});
  return { cell: cellOf(layer), resetAfter: layer.resetAfter ?? DEFAULT_RESET_AFTER };
}

/** The JSON path of a layer option: `layers[k].name` in a stack, else the single-layer field. */
export const optionPath = (model: ModelDescription, k: number, name: string): string =>
  model.layers === undefined ? name : `layers[${k}].${name}`;

/** "lstm: 4·hiddenSize rows, gates i, f, g, o" (the gate order of a layout). */
function gatesText(cell: CellName, layout: 'keras' | 'pytorch' | 'onnx'): string {
  // PyTorch names Keras's candidate gate g (LSTM) and n (GRU).
  const renamed: Record<string, string> = layout === 'pytorch' ? { c: 'g', h: 'n' } : {};
  const gates = GATE_ORDERS[cell][layout].map((gate) => renamed[gate] ?? gate);
  return `${cell}: ${gateCount(cell)}·hiddenSize, gates ${gates.join(', ')}`;
}

/** One layer and direction's weights as read from the request, before they are checked against the spec. */
export interface RawCell {
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
export function readExplicitCells(
  model: ModelDescription,
  directions: number,
  problems: ProblemList,
): RawCell[][] | null {
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

/**
 * Checks each cell against its layer: kernel [in, G·h], recurrent kernel [h, G·h], bias [G·h] (a GRU with
 * resetAfter: [2, 3·h]) iff useBias.
 */
export function checkedWeights(spec: NetworkSpec, cells: RawCell[][], inputDim: number): NetworkWeights {
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
