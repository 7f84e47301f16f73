/**
 * POST /rnn/weights: the weights of a model description in every layout we read (Keras, PyTorch, ONNX),
 * and a content digest, so a client can rebuild the identical model anywhere and check it is identical.
 *
 * Digest: sha256 over the float32 little-endian bytes of, for each layer k and each direction d in order
 * (forward then backward), the Keras kernel [inputDim, hiddenSize], the recurrent kernel
 * [hiddenSize, hiddenSize] and, when the layer uses a bias, the bias [hiddenSize], each row-major.
 *
 * A large answer (up to MAX_OUTPUT_VALUES weights written) is streamed: see `describeModelParts`.
 */
import { createHash } from 'node:crypto';
import type { WeightsRequest, WeightsResponse } from '../../schemas/weights.js';
import type { Limits } from '../config/config.js';
import { directionsOf, type NetworkWeights, outputFeatures, pytorchKey, transpose } from '../engine/index.js';
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
    const what = 'the compute cost of building the seeded weights (6·hiddenSize³ per layer and direction)';
    throw limitExceeded('$', what, build, limits.maxCompute, 'MAX_COMPUTE');
  }
  const values = 3 * weightCount(model);
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
    numbers += directions * (layerInput * layer.hiddenSize + layer.hiddenSize * layer.hiddenSize + layer.hiddenSize);
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
  let first = true;
  weights.forEach((layer, k) => {
    const { useBias, hiddenSize: h } = model.spec.layers[k];
    for (const cell of layer) {
      parts.push(first ? '{"kernel":' : ',{"kernel":', tensor(cell.kernel.slice(), [cell.inputDim, h]));
      parts.push(',"recurrentKernel":', tensor(cell.recurrentKernel.slice(), [h, h]));
      if (useBias) parts.push(',"bias":', tensor(cell.bias.slice(), [h]));
      parts.push('}');
      first = false;
    }
  });
  parts.push('],"pytorch":{');
  first = true;
  weights.forEach((layer, k) => {
    const { useBias, hiddenSize: h } = model.spec.layers[k];
    layer.forEach((cell, d) => {
      const entry = (kind: Parameters<typeof pytorchKey>[0], value: JsonPart) => {
        parts.push(`${first ? '' : ','}${JSON.stringify(pytorchKey(kind, k, d))}:`, value);
        first = false;
      };
      entry('weight_ih', tensor(transpose(cell.kernel, cell.inputDim, h), [h, cell.inputDim]));
      entry('weight_hh', tensor(transpose(cell.recurrentKernel, h, h), [h, h]));
      if (useBias) {
        entry('bias_ih', tensor(cell.bias.slice(), [h]));
        entry('bias_hh', tensor(new Float32Array(h), [h]));
      }
    });
  });
  parts.push('},"onnx":[');
  weights.forEach((layer, k) => {
    const { useBias, hiddenSize: h } = model.spec.layers[k];
    parts.push(k === 0 ? '{"W":[' : ',{"W":[');
    layer.forEach((cell, d) =>
      parts.push(d === 0 ? '' : ',', tensor(transpose(cell.kernel, cell.inputDim, h), [h, cell.inputDim])),
    );
    parts.push('],"R":[');
    layer.forEach((cell, d) => parts.push(d === 0 ? '' : ',', tensor(transpose(cell.recurrentKernel, h, h), [h, h])));
    if (useBias) {
      parts.push('],"B":[');
      layer.forEach((cell, d) => {
        // Wb then Rb (zeros: the whole bias is in Wb), as describeModel concatenates them.
        const bias = new Float32Array(2 * h);
        bias.set(cell.bias);
        parts.push(d === 0 ? '' : ',', tensor(bias, [2 * h]));
      });
    }
    parts.push(']}');
  });
  const digest = { algorithm: 'sha256', value: weightsDigest(model, weights), covers: DIGEST_COVERS };
  parts.push(`],"digest":${JSON.stringify(digest)}}`);
  return { streamed: parts };
}

export function describeModel(model: ResolvedModel): WeightsResponse {
  const directions = directionsOf(model.spec);
  const keras: WeightsResponse['keras'] = [];
  const pytorch: WeightsResponse['pytorch'] = {};
  const onnx: WeightsResponse['onnx'] = [];
  // Read once: a seeded model's weights come from the cache, built again on every read when it keeps none.
  const { weights } = model;
  weights.forEach((layer, k) => {
    const { useBias, hiddenSize: h } = model.spec.layers[k];
    const node: WeightsResponse['onnx'][number] = { W: [], R: [], ...(useBias ? { B: [] } : {}) };
    layer.forEach((cell, d) => {
      const kernel = nested(cell.kernel, [cell.inputDim, h]) as number[][];
      const recurrentKernel = nested(cell.recurrentKernel, [h, h]) as number[][];
      const bias = nested(cell.bias, [h]) as number[];
      keras.push({ kernel, recurrentKernel, ...(useBias ? { bias } : {}) });
      const weightIh = nested(transpose(cell.kernel, cell.inputDim, h), [h, cell.inputDim]) as number[][];
      const weightHh = nested(transpose(cell.recurrentKernel, h, h), [h, h]) as number[][];
      pytorch[pytorchKey('weight_ih', k, d)] = weightIh;
      pytorch[pytorchKey('weight_hh', k, d)] = weightHh;
      if (useBias) {
        pytorch[pytorchKey('bias_ih', k, d)] = bias;
        pytorch[pytorchKey('bias_hh', k, d)] = new Array<number>(h).fill(0);
      }
      node.W.push(weightIh);
      node.R.push(weightHh);
      node.B?.push([...bias, ...new Array<number>(h).fill(0)]);
    });
    onnx.push(node);
  });
  if (keras.length !== weights.length * directions) throw new Error('every layer has a cell per direction');
  return {
    model: modelSummary(model),
    keras,
    pytorch,
    onnx,
    digest: { algorithm: 'sha256', value: weightsDigest(model, weights), covers: DIGEST_COVERS },
  };
}
