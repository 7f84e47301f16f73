/**
 * POST /rnn/forward, between the validated JSON and the engine: checks what the schema cannot (shapes that
 * must agree, configured limits, float32 range), turns the request into typed arrays, runs the engine and
 * shapes the answer. Every rejection names the JSON path of the offending value and the limit it breaks.
 */
import type { ForwardRequest, ForwardResponse } from '../schemas/forward.js';
import type { Limits } from './config.js';
import { simpleRnnForward, type Shape3, type SimpleRnnWeights } from './engine/index.js';
import { ProblemError } from './problems.js';
import { ProblemList, count, readMatrix, readVector, toFloat32, toNested2, toNested3 } from './tensors.js';
import type { SeededWeightsCache } from './weights-cache.js';

export interface ForwardPlan {
  readonly inputs: Float32Array;
  readonly shape: Shape3;
  readonly weights: SimpleRnnWeights;
  readonly seed: number | null;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
}

function limitError(path: string, what: string, value: number, limit: number, variable: string): ProblemError {
  return ProblemError.at('limit-exceeded', [
    { path, message: `${what} is ${value}; the limit is ${limit} (${variable})` },
  ]);
}

/** Checks `inputs` is a non-empty, rectangular batch within the limits; returns its shape. */
function inputShape(inputs: ForwardRequest['inputs'], limits: Limits): Shape3 {
  const batch = inputs.length;
  if (batch === 0) throw ProblemError.at('invalid-request', [{ path: 'inputs', message: 'is empty; expected at least 1 sequence' }]);
  if (batch > limits.maxBatch) throw limitError('inputs', 'the batch size', batch, limits.maxBatch, 'MAX_BATCH');
  const time = inputs[0].length;
  if (time === 0) throw ProblemError.at('invalid-request', [{ path: 'inputs[0]', message: 'has no time steps; expected at least 1' }]);
  if (time > limits.maxTimeSteps) {
    throw limitError('inputs[0]', 'the number of time steps', time, limits.maxTimeSteps, 'MAX_TIME_STEPS');
  }
  const features = inputs[0][0].length;
  if (features === 0) {
    throw ProblemError.at('invalid-request', [{ path: 'inputs[0][0]', message: 'has no features; expected at least 1' }]);
  }
  if (features > limits.maxFeatures) {
    throw limitError('inputs[0][0]', 'the number of features', features, limits.maxFeatures, 'MAX_FEATURES');
  }
  const problems = new ProblemList();
  for (let b = 1; b < batch && !problems.full; b++) {
    if (inputs[b].length !== time) {
      problems.add(`inputs[${b}]`, `has ${count(inputs[b].length, 'time step')}; expected ${time} (inputs[0])`);
    }
  }
  for (let b = 0; b < batch && !problems.full; b++) {
    const sequence = inputs[b];
    for (let t = 0; t < sequence.length && !problems.full; t++) {
      if (sequence[t].length !== features) {
        problems.add(`inputs[${b}][${t}]`, `has ${count(sequence[t].length, 'feature')}; expected ${features} (inputs[0][0])`);
      }
    }
  }
  if (!problems.empty) throw ProblemError.at('invalid-request', problems.items);
  return [batch, time, features];
}

function readInputs(inputs: ForwardRequest['inputs'], shape: Shape3, problems: ProblemList): Float32Array {
  const [batch, time, features] = shape;
  const out = new Float32Array(batch * time * features);
  for (let b = 0; b < batch && !problems.full; b++) {
    for (let t = 0; t < time && !problems.full; t++) {
      const step = inputs[b][t];
      const offset = (b * time + t) * features;
      for (let f = 0; f < features; f++) out[offset + f] = toFloat32(step[f], () => `inputs[${b}][${t}][${f}]`, problems);
    }
  }
  return out;
}

/** Explicit Keras-layout weights: W [inputDim, H], U [H, H], b [H], with H taken from U. */
function readWeights(
  weights: NonNullable<ForwardRequest['weights']>,
  inputDim: number,
  hiddenSize: number | undefined,
  limits: Limits,
  problems: ProblemList,
): SimpleRnnWeights {
  const h = weights.recurrentKernel.length;
  if (h === 0) throw ProblemError.at('invalid-request', [{ path: 'weights.recurrentKernel', message: 'is empty; expected [hiddenSize, hiddenSize]' }]);
  if (h > limits.maxHiddenSize) throw limitError('weights.recurrentKernel', 'the hidden size', h, limits.maxHiddenSize, 'MAX_HIDDEN_SIZE');
  if (hiddenSize !== undefined && hiddenSize !== h) {
    throw ProblemError.at('invalid-request', [
      { path: 'hiddenSize', message: `is ${hiddenSize} but weights.recurrentKernel has ${count(h, 'row')}; they must agree` },
    ]);
  }
  if (weights.kernel.length !== inputDim) {
    problems.add('weights.kernel', `has ${count(weights.kernel.length, 'row')}; expected ${inputDim} (inputDim, the features of inputs[0][0])`);
  }
  if (weights.bias.length !== h) {
    problems.add('weights.bias', `has ${count(weights.bias.length, 'entry', 'entries')}; expected ${h} (hiddenSize, the rows of weights.recurrentKernel)`);
  }
  if (!problems.empty) throw ProblemError.at('invalid-request', problems.items);
  const kernel = readMatrix(weights.kernel, h, 'weights.kernel', 'hiddenSize, the rows of weights.recurrentKernel', problems);
  const recurrentKernel = readMatrix(weights.recurrentKernel, h, 'weights.recurrentKernel', 'hiddenSize, its number of rows', problems);
  const bias = readVector(weights.bias, 'weights.bias', problems);
  return { inputDim, hiddenSize: h, kernel, recurrentKernel, bias };
}

export function planForward(request: ForwardRequest, limits: Limits, cache: SeededWeightsCache): ForwardPlan {
  const shape = inputShape(request.inputs, limits);
  const [batch, time, inputDim] = shape;

  if (request.weights !== undefined && request.seed !== undefined) {
    throw ProblemError.at('invalid-request', [
      { path: 'seed', message: 'cannot be combined with weights; send one or the other' },
    ]);
  }
  if (request.weights === undefined) {
    if (request.hiddenSize === undefined) {
      throw ProblemError.at('invalid-request', [
        { path: 'hiddenSize', message: 'is required unless weights are given' },
      ]);
    }
    if (request.hiddenSize > limits.maxHiddenSize) {
      throw limitError('hiddenSize', 'the hidden size', request.hiddenSize, limits.maxHiddenSize, 'MAX_HIDDEN_SIZE');
    }
  }
  const hiddenSize = request.weights?.recurrentKernel.length ?? (request.hiddenSize as number);
  const compute = batch * time * (inputDim + hiddenSize) * hiddenSize;
  if (compute > limits.maxCompute) {
    throw limitError(
      '$',
      `the compute cost batch·time·(inputDim + hiddenSize)·hiddenSize = ${batch}·${time}·(${inputDim} + ${hiddenSize})·${hiddenSize}`,
      compute,
      limits.maxCompute,
      'MAX_COMPUTE',
    );
  }

  const problems = new ProblemList();
  const weights =
    request.weights === undefined
      ? cache.get(request.seed ?? 0, inputDim, hiddenSize)
      : readWeights(request.weights, inputDim, request.hiddenSize, limits, problems);
  const inputs = readInputs(request.inputs, shape, problems);
  if (!problems.empty) throw ProblemError.at('invalid-request', problems.items);

  return {
    inputs,
    shape,
    weights,
    seed: request.weights === undefined ? (request.seed ?? 0) : null,
    returnSequences: request.returnSequences ?? true,
    returnState: request.returnState ?? true,
  };
}

export function runForward(plan: ForwardPlan): ForwardResponse {
  const [batch, time, inputDim] = plan.shape;
  const { hiddenSize } = plan.weights;
  const { outputs, states } = simpleRnnForward(plan.inputs, plan.shape, plan.weights);
  // Without masking the last output is the final state: returnSequences false reuses it.
  return {
    outputs: plan.returnSequences ? toNested3(outputs, batch, time, hiddenSize) : toNested2(states, batch, hiddenSize),
    ...(plan.returnState ? { states: toNested2(states, batch, hiddenSize) } : {}),
    shapes: {
      outputs: plan.returnSequences ? [batch, time, hiddenSize] : [batch, hiddenSize],
      ...(plan.returnState ? { states: [batch, hiddenSize] } : {}),
    },
    model: { inputDim, hiddenSize, seed: plan.seed },
  };
}
