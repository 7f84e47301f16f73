/**
 * POST /rnn/weights: the weights of a model description in every layout we read (Keras, PyTorch, ONNX),
 * and a content digest, so a client can rebuild the identical model anywhere and check it is identical.
 *
 * Digest: sha256 over the float32 little-endian bytes of, for each layer k and each direction d in order
 * (forward then backward), the Keras kernel [inputDim, G·hiddenSize], the recurrent kernel
 * [hiddenSize, G·hiddenSize] and, when the layer uses a bias, the bias ([G·hiddenSize], a GRU with resetAfter
 * [2, 3·hiddenSize]), each row-major (G gates: 1 SimpleRNN, 4 LSTM, 3 GRU).
 *
 * LSTM and GRU layers are written in each framework's gate order (src/engine/layouts.ts). PyTorch has no GRU
 * without resetAfter: a model with one has `pytorch: null`.
 *
 * A large answer (up to MAX_OUTPUT_VALUES weights written) is streamed: see `describeModelParts`.
 */
import { createHash } from 'node:crypto';
import type { WeightsRequest, WeightsResponse } from '../../schemas/weights.js';
import type { Limits } from '../config/config.js';
import {
  biasShape,
  cellOf,
  DEFAULT_RESET_AFTER,
  directionsOf,
  gateCount,
  type LayerSpec,
  type NetworkWeights,
  type OnnxCellTensors,
  onnxFromKeras,
  outputFeatures,
  type PytorchCellTensors,
  pytorchFromKeras,
  pytorchKey,
  weightCount as cellWeightCount,
} from '../engine/index.js';
import type { SimpleRnnWeights } from '../engine/index.js';
import { modelSummary, type ResolvedModel, resolveModel } from './model.js';
import { limitExceeded } from '../errors/problem-error.js';
import { nested } from '../codec/tensors.js';
import {
  BYTES_PER_VALUE,
  type JsonAnswer,
  type JsonPart,
  STREAM_MIN_BYTES,
  type StreamedJson,
} from '../codec/json-stream.js';
import { type SeededWeightsCache, seededWeightsCost } from './weights-cache.js';

export const DIGEST_COVERS =
  'float32 little-endian bytes of, per layer and direction (forward, then backward): kernel [inputDim, hiddenSize], ' +
  'recurrentKernel [hiddenSize, hiddenSize], bias [hiddenSize] when useBias; each row-major';

/** The digest's description for a model with an LSTM or GRU layer (a SimpleRNN model keeps DIGEST_COVERS). */
export const DIGEST_COVERS_GATED =
  'float32 little-endian bytes of, per layer and direction (forward, then backward): kernel [inputDim, G·hiddenSize], ' +
  'recurrentKernel [hiddenSize, G·hiddenSize], bias [G·hiddenSize] (gru with resetAfter: [2, 3·hiddenSize]) when ' +
  'useBias; each row-major, Keras gate order (G: 1 simpleRNN, 4 lstm i f c o, 3 gru z r h)';

function digestCovers(model: ResolvedModel): string {
  return model.spec.layers.every((layer) => cellOf(layer) === 'simpleRNN') ? DIGEST_COVERS : DIGEST_COVERS_GATED;
}

/** Whether PyTorch can hold the model: nn.GRU is always resetAfter. */
function pytorchExpressible(model: ResolvedModel): boolean {
  return model.spec.layers.every((layer) => cellOf(layer) !== 'gru' || (layer.resetAfter ?? DEFAULT_RESET_AFTER));
}

/** One layer and direction in the three layouts, as float32 arrays with their shapes. */
interface CellLayouts {
  readonly g: number;
  readonly h: number;
  readonly biasShape: number[];
  readonly pytorch: PytorchCellTensors | null;
  readonly onnx: OnnxCellTensors;
}

function cellLayouts(layer: LayerSpec, cell: SimpleRnnWeights, withPytorch: boolean): CellLayouts {
  const name = cellOf(layer);
  const resetAfter = layer.resetAfter ?? DEFAULT_RESET_AFTER;
  return {
    g: gateCount(name),
    h: layer.hiddenSize,
    biasShape: biasShape(name, layer.hiddenSize, resetAfter),
    pytorch: withPytorch ? pytorchFromKeras(name, cell, resetAfter) : null,
    onnx: onnxFromKeras(name, cell, resetAfter),
  };
}

export function weightsDigest(model: ResolvedModel, weights: NetworkWeights = model.weights): string {
  const hash = createHash('sha256');
  const add = (data: Float32Array) => {
    const bytes = Buffer.alloc(data.length * 4);
    for (let i = 0; i < data.length; i++) bytes.writeFloatLE(data[i], i * 4);
    hash.update(bytes);
  };
  weights.forEach((layer, k) => {
    for (const cell of layer) {
      add(cell.kernel);
      add(cell.recurrentKernel);
      if (model.spec.layers[k].useBias) add(cell.bias);
    }
  });
  return hash.digest('hex');
}

/** Validates a weights request and resolves its model (seeded weights are built later, on first use). */
export function resolveWeightsRequest(
  request: WeightsRequest,
  limits: Limits,
  cache: SeededWeightsCache,
): ResolvedModel {
  if (request.inputDim > limits.maxFeatures) {
    throw limitExceeded('inputDim', 'the number of features', request.inputDim, limits.maxFeatures, 'MAX_FEATURES');
  }
  const model = resolveModel(request, request.inputDim, limits, cache);
  const build = model.seed !== null ? seededWeightsCost(model.spec) : 0;
  if (build > limits.maxCompute) {
    const gated = model.spec.layers.some((layer) => cellOf(layer) !== 'simpleRNN');
    const what = `the compute cost of building the seeded weights (6·${gated ? 'G·' : ''}hiddenSize³ per layer and direction${gated ? ', G gates: 4 lstm, 3 gru' : ''})`;
    throw limitExceeded('$', what, build, limits.maxCompute, 'MAX_COMPUTE');
  }
  const values = 3 * weightCount(model);
  // (A GRU without resetAfter has no PyTorch layout: two, not three, but the bound stays simple.)
  if (values > limits.maxOutputValues) {
    const what = "the answer's values (every weight, in the Keras, PyTorch and ONNX layouts)";
    throw limitExceeded('$', what, values, limits.maxOutputValues, 'MAX_OUTPUT_VALUES');
  }
  return model;
}

/** Weights of the model: kernel, recurrent kernel and bias of each layer and direction. */
export function weightCount(model: ResolvedModel): number {
  const directions = directionsOf(model.spec);
  let layerInput = model.inputDim;
  let numbers = 0;
  model.spec.layers.forEach((layer, k) => {
    numbers += directions * cellWeightCount(layer, layerInput, layer.hiddenSize);
    layerInput = outputFeatures(model.spec, k);
  });
  return numbers;
}

/**
 * Rough multiply-adds to answer: building seeded weights if not cached, plus writing every weight three
 * times (Keras, PyTorch, ONNX) at about 600 multiply-adds' worth of time per number written.
 */
export function describeCost(model: ResolvedModel): number {
  return model.buildCost + 3 * 600 * weightCount(model);
}

/**
 * The answer to POST /rnn/weights: the JSON of describeModel, whole when it is small, else as parts to stream
 * (from STREAM_MIN_BYTES of expected JSON, every weight written three times).
 */
export function weightsAnswer(model: ResolvedModel): JsonAnswer {
  if (3 * weightCount(model) * BYTES_PER_VALUE >= STREAM_MIN_BYTES) return describeModelParts(model);
  return JSON.stringify(describeModel(model));
}

/**
 * describeModel's JSON as parts to stream: its text around the weights as typed arrays, which the chunked writer
 * writes as JSON.stringify writes the shortest float32 decimals describeModel holds (codec/tensors.ts `nested`).
 * Restates `JSON.stringify(describeModel(model))`, key for key; test/inference/weights-stream.test.ts holds
 * the two equal, byte for byte. The arrays are copies or new (transposes, zeros): an answer from a worker moves
 * them, and the weights stay in the worker's cache.
 */
export function describeModelParts(model: ResolvedModel): StreamedJson {
  const { weights } = model;
  const tensor = (data: Float32Array, shape: number[]): JsonPart => ({ data, shape, format: 'nested' });
  const parts: JsonPart[] = [`{"model":${JSON.stringify(modelSummary(model))},"keras":[`];
  const withPytorch = pytorchExpressible(model);
  const layouts = weights.map((layer, k) => layer.map((cell) => cellLayouts(model.spec.layers[k], cell, withPytorch)));
  let first = true;
  weights.forEach((layer, k) => {
    const { useBias } = model.spec.layers[k];
    layer.forEach((cell, d) => {
      const { g, h, biasShape } = layouts[k][d];
      parts.push(first ? '{"kernel":' : ',{"kernel":', tensor(cell.kernel.slice(), [cell.inputDim, g * h]));
      parts.push(',"recurrentKernel":', tensor(cell.recurrentKernel.slice(), [h, g * h]));
      if (useBias) parts.push(',"bias":', tensor(cell.bias.slice(), biasShape));
      parts.push('}');
      first = false;
    });
  });
  parts.push(withPytorch ? '],"pytorch":{' : '],"pytorch":null');
  first = true;
  weights.forEach((layer, k) => {
    const { useBias } = model.spec.layers[k];
    layer.forEach((cell, d) => {
      const { g, h, pytorch } = layouts[k][d];
      if (pytorch === null) return;
      const entry = (kind: Parameters<typeof pytorchKey>[0], value: JsonPart) => {
        parts.push(`${first ? '' : ','}${JSON.stringify(pytorchKey(kind, k, d))}:`, value);
        first = false;
      };
      entry('weight_ih', tensor(pytorch.weightIh, [g * h, cell.inputDim]));
      entry('weight_hh', tensor(pytorch.weightHh, [g * h, h]));
      if (useBias) {
        entry('bias_ih', tensor(pytorch.biasIh ?? new Float32Array(g * h), [g * h]));
        entry('bias_hh', tensor(pytorch.biasHh ?? new Float32Array(g * h), [g * h]));
      }
    });
  });
  parts.push(withPytorch ? '},"onnx":[' : ',"onnx":[');
  weights.forEach((layer, k) => {
    const { useBias } = model.spec.layers[k];
    parts.push(k === 0 ? '{"W":[' : ',{"W":[');
    layer.forEach((cell, d) => {
      const { g, h, onnx } = layouts[k][d];
      parts.push(d === 0 ? '' : ',', tensor(onnx.W, [g * h, cell.inputDim]));
    });
    parts.push('],"R":[');
    layer.forEach((_, d) => {
      const { g, h, onnx } = layouts[k][d];
      parts.push(d === 0 ? '' : ',', tensor(onnx.R, [g * h, h]));
    });
    if (useBias) {
      parts.push('],"B":[');
      // Wb then Rb (zeros but for a GRU with resetAfter: the whole bias is in Wb), as describeModel writes them.
      layer.forEach((_, d) => {
        const { g, h, onnx } = layouts[k][d];
        parts.push(d === 0 ? '' : ',', tensor(onnx.B ?? new Float32Array(2 * g * h), [2 * g * h]));
      });
    }
    parts.push(']}');
  });
  const digest = { algorithm: 'sha256', value: weightsDigest(model, weights), covers: digestCovers(model) };
  parts.push(`],"digest":${JSON.stringify(digest)}}`);
  return { streamed: parts };
}

export function describeModel(model: ResolvedModel): WeightsResponse {
  const directions = directionsOf(model.spec);
  const keras: WeightsResponse['keras'] = [];
  const withPytorch = pytorchExpressible(model);
  const pytorch: NonNullable<WeightsResponse['pytorch']> = {};
  const onnx: WeightsResponse['onnx'] = [];
  // Read once: a seeded model's weights come from the cache, built again on every read when it keeps none.
  const { weights } = model;
  weights.forEach((layer, k) => {
    const { useBias } = model.spec.layers[k];
    const node: WeightsResponse['onnx'][number] = { W: [], R: [], ...(useBias ? { B: [] } : {}) };
    layer.forEach((cell, d) => {
      const { g, h, biasShape, pytorch: torch, onnx: tensors } = cellLayouts(model.spec.layers[k], cell, withPytorch);
      const kernel = nested(cell.kernel, [cell.inputDim, g * h]) as number[][];
      const recurrentKernel = nested(cell.recurrentKernel, [h, g * h]) as number[][];
      const bias = nested(cell.bias, biasShape) as number[] | number[][];
      keras.push({ kernel, recurrentKernel, ...(useBias ? { bias } : {}) });
      if (torch !== null) {
        pytorch[pytorchKey('weight_ih', k, d)] = nested(torch.weightIh, [g * h, cell.inputDim]) as number[][];
        pytorch[pytorchKey('weight_hh', k, d)] = nested(torch.weightHh, [g * h, h]) as number[][];
        if (useBias) {
          pytorch[pytorchKey('bias_ih', k, d)] = nested(torch.biasIh ?? new Float32Array(g * h), [g * h]) as number[];
          pytorch[pytorchKey('bias_hh', k, d)] = nested(torch.biasHh ?? new Float32Array(g * h), [g * h]) as number[];
        }
      }
      node.W.push(nested(tensors.W, [g * h, cell.inputDim]) as number[][]);
      node.R.push(nested(tensors.R, [g * h, h]) as number[][]);
      node.B?.push(nested(tensors.B ?? new Float32Array(2 * g * h), [2 * g * h]) as number[]);
    });
    onnx.push(node);
  });
  if (keras.length !== weights.length * directions) throw new Error('every layer has a cell per direction');
  return {
    model: modelSummary(model),
    keras,
    pytorch: withPytorch ? pytorch : null,
    onnx,
    digest: { algorithm: 'sha256', value: weightsDigest(model, weights), covers: digestCovers(model) },
  };
}
