/**
 * Hand-made inference requests and models for the unit tests of src/inference and src/protocols: tensors placed as a
 * frontend places them, requests with the forward routes' option places, and served layer models with seeded weights
 * written out as explicit ones (so a test can add a Dense head, an Embedding or `lastStep`).
 */
import { defaultConfig, type Limits } from '../../src/config/config.js';
import { type DenseWeights, type LayerSpec, type NetworkSpec, seededNetworkWeights } from '../../src/engine/index.js';
import type { ServedLayers } from '../../src/inference/layer-plan.js';
import type { ResolvedModel } from '../../src/inference/model.js';
import type {
  InferenceOptions,
  InferenceRequest,
  OptionPlaces,
  RequestTensor,
  RequestedOutput,
} from '../../src/inference/request.js';
import { ProblemError } from '../../src/errors/problem-error.js';

export const LIMITS: Limits = defaultConfig.limits;

/** The limits with some changed. */
export const limits = (changed: Partial<Limits>): Limits => ({ ...LIMITS, ...changed });

/** Each option where the forward routes write it. */
export const PLACES: OptionPlaces = {
  returnSequences: 'returnSequences',
  returnState: 'returnState',
  stateLayout: 'stateLayout',
  zeroOutputForMask: 'zeroOutputForMask',
  topK: 'topK',
  vocabulary: 'vocabulary',
  priority: 'priority',
  timeoutMs: 'timeoutMs',
};

/** A JSON tensor of our routes (no datatype, no shape): nested values, placed at `at`. */
export function nestedTensor(name: string, value: readonly unknown[], at = name): RequestTensor {
  return {
    name,
    datatype: null,
    shape: null,
    values: { kind: 'nested', value },
    at: { tensor: at, shape: at, data: at },
  };
}

/** A tensor as the inference protocol sends it: a datatype, a shape, flat JSON data or bytes, at `inputs[i]`. */
export function typedTensor(
  name: string,
  datatype: string | null,
  shape: readonly number[],
  data: readonly number[] | Uint8Array,
  at = 'inputs[0]',
): RequestTensor {
  return {
    name,
    datatype,
    shape,
    values: data instanceof Uint8Array ? { kind: 'bytes', value: data } : { kind: 'flat', value: data },
    at: { tensor: at, shape: `${at}.shape`, data: `${at}.data`, size: `${at}.parameters.binary_data_size` },
  };
}

/** Little-endian bytes of float32 values. */
export const fp32Bytes = (values: readonly number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** A request of `inputs`, answered as the forward view unless `outputs` says otherwise. */
export function inferenceRequest(
  inputs: readonly RequestTensor[],
  options: InferenceOptions = {},
  outputs: InferenceRequest['outputs'] = 'view',
): InferenceRequest {
  return {
    model: { kind: 'served', name: 'm' },
    inputs,
    outputs,
    options,
    optionsAt: PLACES,
    elsewhere: null,
    sequence: null,
  };
}

/** An output asked for by name, at `outputs[i]`, with the classification extension's K when given. */
export function asked(name: string, i: number, k?: number): RequestedOutput {
  const at = `outputs[${i}]`;
  return { name, at, classes: k === undefined ? null : { value: k, at: `${at}.parameters.classification` } };
}

export const layer = (hiddenSize: number, extra: Partial<LayerSpec> = {}): LayerSpec => ({
  hiddenSize,
  activation: 'tanh',
  useBias: true,
  goBackwards: false,
  clip: null,
  ...extra,
});

/** A model of `spec` whose weights are the seeded ones, held as explicit weights (`seed` null). */
export function explicitModel(
  spec: NetworkSpec,
  inputDim: number,
  extra: Partial<ResolvedModel> = {},
  seed = 3,
): ResolvedModel {
  return { spec, weights: seededNetworkWeights(seed, spec, inputDim), inputDim, seed: null, buildCost: 0, ...extra };
}

/** A softmax Dense head of `units` classes over `inputDim` features. */
export function softmaxHead(inputDim: number, units: number): DenseWeights {
  const kernel = Float32Array.from({ length: inputDim * units }, (_, i) => ((i % 7) - 3) / 4);
  return { inputDim, units, kernel, bias: new Float32Array(units), activation: 'softmax' };
}

/** `model` as the repository serves it: `m` version 1. */
export function servedAs(model: ResolvedModel, extra: Partial<ServedLayers> = {}): ServedLayers {
  return { name: 'm', version: '1', file: 'm/1/model.json', model, vocabulary: null, labels: null, ...extra };
}

/** The ProblemError `fn` throws (failing the test if it throws anything else or nothing). */
export function problemOf(fn: () => unknown): ProblemError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('expected a ProblemError; nothing was thrown');
}

/** The largest |a[i] − b[i]| (Infinity when the lengths differ): fast kernels against the naive references. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}
