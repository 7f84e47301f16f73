/**
 * The values an ONNX graph computes with, as the interpreter holds them: flat row-major typed arrays with their
 * shape. Two element types are enough for the graphs torch.onnx.export writes around an RNN:
 *   float  Float32Array: every activation, weight and output (ONNX FLOAT)
 *   int    Float64Array: token ids, sequence lengths and the small shape tensors Shape/Gather/Concat compute
 *          (ONNX INT64 and INT32). Float64 holds every integer up to 2^53 exactly; INT64_MAX, which torch
 *          writes as "to the end" in Slice, becomes 2^63, which clamps the same way.
 */

export type ElementType = 'float' | 'int';

export interface Tensor {
  readonly type: ElementType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** What the plan knows of a tensor before any float data exists: its type, its shape, and for small int tensors computed from shapes and constants, their values. */
export interface TensorMeta {
  readonly type: ElementType;
  readonly shape: readonly number[];
  /** The values, when known at planning time (constants, initializers, shape arithmetic). */
  readonly known?: Tensor;
}

export const elementsOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function makeTensor(type: ElementType, shape: readonly number[], data?: Float32Array | Float64Array): Tensor {
  const size = elementsOf(shape);
  return { type, shape, data: data ?? (type === 'float' ? new Float32Array(size) : new Float64Array(size)) };
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

/** `[2, 3]` as `[2, 3]`, for messages. */
export const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
