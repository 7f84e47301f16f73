/**
 * POST /rnn/weights: the weights of a model description in every layout we read (Keras, PyTorch, ONNX),
 * and a content digest, so a client can rebuild the identical model anywhere and check it is identical.
 *
 * Digest: sha256 over the float32 little-endian bytes of, for each layer k and each direction d in order
 * (forward then backward), the Keras kernel [inputDim, hiddenSize], the recurrent kernel
 * [hiddenSize, hiddenSize] and, when the layer uses a bias, the bias [hiddenSize], each row-major.
 */
import { createHash } from 'node:crypto';
import type { WeightsRequest, WeightsResponse } from '../../schemas/weights.js';
import type { Limits } from '../config/config.js';
import { directionsOf, type NetworkWeights, outputFeatures, pytorchKey, transpose } from '../engine/index.js';
import { modelSummary, type ResolvedModel, resolveModel } from './model.js';
import { limitExceeded } from '../errors/problem-error.js';
import { nested } from '../codec/tensors.js';
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

export function describeWeights(request: WeightsRequest, limits: Limits, cache: SeededWeightsCache): WeightsResponse {
  return describeModel(resolveWeightsRequest(request, limits, cache));
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
