/**
 * Inference results made by hand (inference/request.ts), for the unit tests of the answer writers in
 * src/protocols/: tensors of chosen values with their roles, and the facts beside them.
 */
import type { InferenceResult, ResultFacts, ResultTensor, TensorRole } from '../../src/inference/request.js';

export const tensor = (
  name: string,
  role: TensorRole,
  shape: number[],
  values: readonly number[],
  classes: number | null = null,
): ResultTensor => ({ name, role, shape, data: Float32Array.from(values), classes });

export const FACTS: ResultFacts = {
  model: { name: 'm', version: '1' },
  inputShape: [1, 2, 3],
  vocabulary: null,
  labels: null,
  summary: '{"hiddenSize":2}',
  graph: null,
};

export const result = (tensors: ResultTensor[], facts: Partial<ResultFacts> = {}): InferenceResult => ({
  tensors,
  facts: { ...FACTS, ...facts },
});
