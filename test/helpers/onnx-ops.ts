/**
 * Single ONNX operators run as the interpreter runs them, without a file: a node with attributes as decode.ts reads
 * them, tensors made by hand, and prepare → infer → run on them (models/onnx/operator.ts). For the unit tests of
 * src/models/onnx/.
 */
import type { Attribute, OnnxNode } from '../../src/models/onnx/decode.js';
import type { Operator } from '../../src/models/onnx/operator.js';
import type { Tensor, TensorMeta } from '../../src/models/onnx/tensor.js';

/** A node `name` of `opType` with these attributes (already read: `{ kind, value }`). */
export function onnxNode(
  opType: string,
  attributes: Record<string, Attribute> = {},
  inputs: readonly string[] = [],
  outputs: readonly string[] = ['y'],
  name = 'n',
): OnnxNode {
  return { name, opType, inputs, outputs, attributes: new Map(Object.entries(attributes)) };
}

export const int = (value: number): Attribute => ({ kind: 'int', value });
export const ints = (value: number[]): Attribute => ({ kind: 'ints', value });
export const float = (value: number): Attribute => ({ kind: 'float', value });
export const floats = (value: number[]): Attribute => ({ kind: 'floats', value });
export const string = (value: string): Attribute => ({ kind: 'string', value });
export const strings = (value: string[]): Attribute => ({ kind: 'strings', value });

export const floatTensor = (shape: number[], values: readonly number[]): Tensor => ({
  type: 'float',
  shape,
  data: Float32Array.from(values),
});
export const intTensor = (shape: number[], values: readonly number[]): Tensor => ({
  type: 'int',
  shape,
  data: Float64Array.from(values),
});

/** The meta the plan has of `tensor`: its values known (a constant) when `known`, else only its type and shape. */
export const metaOf = (tensor: Tensor | null, known = false): TensorMeta | null =>
  tensor === null ? null : { type: tensor.type, shape: tensor.shape, ...(known ? { known: tensor } : {}) };

/**
 * `op` on `inputs`: prepared from `node`, its outputs inferred from the inputs' metas (int inputs known, as the
 * constants and shape arithmetic torch writes are), then run. The outputs as plain arrays, with their shapes.
 */
export function runOperator<S>(
  op: Operator<S>,
  node: OnnxNode,
  inputs: readonly (Tensor | null)[],
): { shape: number[]; type: string; values: number[] }[] {
  const settings = op.prepare(node);
  const metas = op.infer(
    settings,
    inputs.map((t) => metaOf(t, t?.type === 'int')),
  );
  return op.run(settings, inputs, metas).map((t, i) => {
    if (t.shape.join() !== metas[i].shape.join()) throw new Error(`output ${i}: run and infer disagree on the shape`);
    return { shape: [...t.shape], type: t.type, values: Array.from(t.data) };
  });
}
