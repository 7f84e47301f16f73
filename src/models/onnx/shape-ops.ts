/**
 * The operators that move values without arithmetic, as ONNX opset 13+ defines them: Constant, Identity, Shape,
 * Gather, Unsqueeze, Squeeze, Concat, ConstantOfShape, Transpose, Reshape, Slice. torch.onnx.export writes them
 * around an RNN to go between batch-first and time-first layouts, to build a zero h0 from the input's shape, and
 * to pick the last step. Axes, shapes and slice bounds must be known while planning (constants, or arithmetic on
 * shapes), which is what torch writes; the same code computes them at planning time and the float data later.
 */
import { Attributes, noAttributes, nodeLabel } from './attributes.js';
import { fail } from './decode.js';
import { type Operator, knownInts, mismatch, normaliseAxis, required, sameType } from './operator.js';
import { type Tensor, type TensorMeta, elementsOf, formatShape, makeTensor, stridesOf } from './tensor.js';

const meta = (tensor: Tensor): TensorMeta => ({ type: tensor.type, shape: tensor.shape, known: tensor });

const intTensor = (values: readonly number[]): Tensor => ({
  type: 'int',
  shape: [values.length],
  data: Float64Array.from(values),
});

const present = (inputs: readonly (Tensor | null)[], i: number): Tensor => inputs[i] as Tensor;

export const Constant: Operator<Tensor> = {
  inputs: [0, 0],
  outputs: [1, 1],
  prepare(node) {
    const a = new Attributes(node, ['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);
    const given = [...node.attributes.keys()];
    if (given.length !== 1) fail(`${nodeLabel(node)}: expected exactly one value attribute; has ${given.length}`);
    const tensor = a.tensor('value');
    if (tensor !== undefined) return tensor;
    const float = a.optionalFloat('value_float');
    if (float !== undefined) return { type: 'float', shape: [], data: Float32Array.of(float) };
    const floats = a.floats('value_floats');
    if (floats !== undefined) return { type: 'float', shape: [floats.length], data: Float32Array.from(floats) };
    const ints = a.ints('value_ints');
    if (ints !== undefined) return intTensor(ints);
    return { type: 'int', shape: [], data: Float64Array.of(a.int('value_int', 0)) };
  },
  infer: (tensor) => [meta(tensor)],
  cost: () => 0,
  run: (tensor) => [tensor],
};

export const Identity: Operator<null> = {
  inputs: [1, 1],
  outputs: [1, 1],
  prepare: noAttributes,
  infer: (_, inputs) => [required(inputs, 0, 'input')],
  cost: () => 0,
  run: (_, inputs) => [present(inputs, 0)],
};

export const Shape: Operator<{ start: number; end: number | null }> = {
  inputs: [1, 1],
  outputs: [1, 1],
  prepare(node) {
    const a = new Attributes(node, ['start', 'end']);
    return { start: a.int('start', 0), end: a.has('end') ? a.int('end', 0) : null };
  },
  infer({ start, end }, inputs) {
    const { shape } = required(inputs, 0, 'data');
    const clamp = (i: number) => Math.min(shape.length, Math.max(0, i < 0 ? i + shape.length : i));
    return [meta(intTensor(shape.slice(clamp(start), clamp(end ?? shape.length))))];
  },
  cost: () => 0,
  run: (_, __, outputs) => [outputs[0].known as Tensor],
};

export const Gather: Operator<{ axis: number }> = {
  inputs: [2, 2],
  outputs: [1, 1],
  prepare: (node) => ({ axis: new Attributes(node, ['axis']).int('axis', 0) }),
  infer({ axis }, inputs) {
    const data = required(inputs, 0, 'data');
    const indices = required(inputs, 1, 'indices');
    if (indices.type !== 'int') mismatch('input 1 (indices) is float; expected integers');
    const at = normaliseAxis(axis, data.shape.length);
    if (indices.known !== undefined) checkIndices(indices.known.data, data.shape[at], 'indices');
    return [{ type: data.type, shape: [...data.shape.slice(0, at), ...indices.shape, ...data.shape.slice(at + 1)] }];
  },
  run({ axis }, inputs, outputs) {
    const data = present(inputs, 0);
    const indices = present(inputs, 1).data;
    const at = normaliseAxis(axis, data.shape.length);
    const dim = data.shape[at];
    checkIndices(indices, dim, 'indices');
    const outer = elementsOf(data.shape.slice(0, at));
    const inner = elementsOf(data.shape.slice(at + 1));
    const out = makeTensor(data.type, outputs[0].shape);
    let o = 0;
    for (let b = 0; b < outer; b++)
      for (let j = 0; j < indices.length; j++) {
        const index = indices[j] < 0 ? indices[j] + dim : indices[j];
        const from = (b * dim + index) * inner;
        out.data.set(data.data.subarray(from, from + inner), o);
        o += inner;
      }
    return [out];
  },
};

/** Gather's indices lie in [-dim, dim) (negative ones count from the end, as numpy and ONNX define them). */
export function checkIndices(indices: Float64Array | Float32Array, dim: number, what: string): void {
  for (let j = 0; j < indices.length; j++)
    if (!(indices[j] >= -dim && indices[j] < dim))
      mismatch(`${what}[${j}] is ${indices[j]}; expected an integer in [${-dim}, ${dim})`, 1);
}

export const Unsqueeze: Operator<null> = {
  inputs: [2, 2],
  outputs: [1, 1],
  prepare: noAttributes,
  infer(_, inputs) {
    const data = required(inputs, 0, 'data');
    const rank = data.shape.length + knownInts(inputs, 1, 'axes').length;
    const axes = knownInts(inputs, 1, 'axes').map((a) => normaliseAxis(a, rank, 'axes'));
    if (new Set(axes).size !== axes.length) mismatch(`axes [${axes.join(', ')}] repeat an axis`);
    const shape: number[] = [];
    let from = 0;
    for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : data.shape[from++]);
    return [{ type: data.type, shape, ...(data.known ? { known: { ...data.known, shape } } : {}) }];
  },
  cost: () => 0,
  run: (_, inputs, outputs) => [{ ...present(inputs, 0), shape: outputs[0].shape }],
};

export const Squeeze: Operator<null> = {
  inputs: [1, 2],
  outputs: [1, 1],
  prepare: noAttributes,
  infer(_, inputs) {
    const data = required(inputs, 0, 'data');
    const rank = data.shape.length;
    const axes =
      inputs[1] == null
        ? data.shape.flatMap((d, i) => (d === 1 ? [i] : []))
        : knownInts(inputs, 1, 'axes').map((a) => normaliseAxis(a, rank, 'axes'));
    for (const a of axes)
      if (data.shape[a] !== 1)
        mismatch(`axis ${a} of shape ${formatShape(data.shape)} is not 1; it cannot be squeezed`);
    const shape = data.shape.filter((_, i) => !axes.includes(i));
    return [{ type: data.type, shape, ...(data.known ? { known: { ...data.known, shape } } : {}) }];
  },
  cost: () => 0,
  run: (_, inputs, outputs) => [{ ...present(inputs, 0), shape: outputs[0].shape }],
};

export const Concat: Operator<{ axis: number }> = {
  inputs: [1, Number.POSITIVE_INFINITY],
  outputs: [1, 1],
  prepare: (node) => ({ axis: new Attributes(node, ['axis']).requiredInt('axis') }),
  infer({ axis }, inputs) {
    const first = required(inputs, 0, 'inputs');
    const at = normaliseAxis(axis, first.shape.length);
    let total = 0;
    inputs.forEach((_, i) => {
      const m = required(inputs, i, 'inputs');
      sameType(first, m, `input ${i}`);
      if (m.shape.length !== first.shape.length || m.shape.some((d, k) => k !== at && d !== first.shape[k]))
        mismatch(
          `input ${i} has shape ${formatShape(m.shape)}; it must equal ${formatShape(first.shape)} except on axis ${at}`,
        );
      total += m.shape[at];
    });
    const shape = first.shape.map((d, k) => (k === at ? total : d));
    return [{ type: first.type, shape }];
  },
  run({ axis }, inputs, outputs) {
    const shape = outputs[0].shape;
    const at = normaliseAxis(axis, shape.length);
    const outer = elementsOf(shape.slice(0, at));
    const out = makeTensor(outputs[0].type, shape);
    let o = 0;
    for (let b = 0; b < outer; b++)
      for (const input of inputs as Tensor[]) {
        const block = elementsOf(input.shape.slice(at));
        out.data.set(input.data.subarray(b * block, (b + 1) * block), o);
        o += block;
      }
    return [out];
  },
};

export const ConstantOfShape: Operator<Tensor> = {
  inputs: [1, 1],
  outputs: [1, 1],
  prepare(node) {
    const value = new Attributes(node, ['value']).tensor('value') ?? {
      type: 'float',
      shape: [1],
      data: Float32Array.of(0),
    };
    if (value.data.length !== 1)
      fail(`${nodeLabel(node)}: attribute 'value' has ${value.data.length} elements; expected 1`);
    return value;
  },
  infer(value, inputs) {
    const shape = knownInts(inputs, 0, 'shape');
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) mismatch(`shape [${shape.join(', ')}] is not a shape`);
    return [{ type: value.type, shape }];
  },
  run(value, _, outputs) {
    const out = makeTensor(value.type, outputs[0].shape);
    out.data.fill(value.data[0]);
    return [out];
  },
};

export const Transpose: Operator<{ perm: number[] | undefined }> = {
  inputs: [1, 1],
  outputs: [1, 1],
  prepare: (node) => ({ perm: new Attributes(node, ['perm']).ints('perm') }),
  infer({ perm }, inputs) {
    const data = required(inputs, 0, 'data');
    const order = permutation(perm, data.shape.length);
    return [{ type: data.type, shape: order.map((i) => data.shape[i]) }];
  },
  run({ perm }, inputs, outputs) {
    const data = present(inputs, 0);
    const order = permutation(perm, data.shape.length);
    const strides = stridesOf(data.shape);
    return [
      gatherStrided(
        data,
        outputs[0].shape,
        order.map((i) => strides[i]),
        0,
      ),
    ];
  },
};

function permutation(perm: number[] | undefined, rank: number): number[] {
  const order = perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const sorted = [...order].sort((a, b) => a - b);
  if (sorted.length !== rank || sorted.some((v, i) => v !== i))
    mismatch(`perm [${order.join(', ')}] is not a permutation of the ${rank} axes`);
  return order;
}

/** out[i0, i1, ...] = data[start + Σ ik · strides[k]]: Transpose and Slice both read this way. */
function gatherStrided(data: Tensor, shape: readonly number[], strides: readonly number[], start: number): Tensor {
  const out = makeTensor(data.type, shape);
  const rank = shape.length;
  const size = out.data.length;
  if (size === 0) return out;
  const index = new Array<number>(rank).fill(0);
  let from = start;
  for (let o = 0; o < size; o++) {
    out.data[o] = data.data[from];
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      from += strides[k];
      if (index[k] < shape[k]) break;
      from -= strides[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

export const Reshape: Operator<{ allowZero: boolean }> = {
  inputs: [2, 2],
  outputs: [1, 1],
  prepare: (node) => ({ allowZero: new Attributes(node, ['allowzero']).int('allowzero', 0) === 1 }),
  infer({ allowZero }, inputs) {
    const data = required(inputs, 0, 'data');
    const requested = knownInts(inputs, 1, 'shape');
    const shape = requested.map((d, i) =>
      d === 0 && !allowZero ? (data.shape[i] ?? mismatch('shape copies a missing axis')) : d,
    );
    const unknown = shape.filter((d) => d === -1).length;
    if (unknown > 1 || shape.some((d) => d < -1 || !Number.isSafeInteger(d)))
      mismatch(`shape [${requested.join(', ')}] is not a shape`);
    const size = elementsOf(data.shape);
    const rest = elementsOf(shape.filter((d) => d !== -1));
    const resolved = shape.map((d) => (d === -1 ? (rest === 0 ? 0 : size / rest) : d));
    if (elementsOf(resolved) !== size || resolved.some((d) => !Number.isInteger(d)))
      mismatch(`cannot reshape ${formatShape(data.shape)} to [${requested.join(', ')}]`);
    return [{ type: data.type, shape: resolved, ...(data.known ? { known: { ...data.known, shape: resolved } } : {}) }];
  },
  cost: () => 0,
  run: (_, inputs, outputs) => [{ ...present(inputs, 0), shape: outputs[0].shape }],
};

interface SliceAxis {
  start: number;
  step: number;
  count: number;
}

function sliceAxes(inputs: readonly (TensorMeta | null)[]): SliceAxis[] {
  const data = required(inputs, 0, 'data');
  const rank = data.shape.length;
  const starts = knownInts(inputs, 1, 'starts');
  const ends = knownInts(inputs, 2, 'ends');
  const axes = inputs[3] == null ? starts.map((_, i) => i) : knownInts(inputs, 3, 'axes');
  const steps = inputs[4] == null ? starts.map(() => 1) : knownInts(inputs, 4, 'steps');
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length)
    mismatch('starts, ends, axes and steps must have one value per sliced axis');
  const out: SliceAxis[] = data.shape.map((d) => ({ start: 0, step: 1, count: d }));
  starts.forEach((s, i) => {
    const axis = normaliseAxis(axes[i], rank, 'axes');
    const dim = data.shape[axis];
    const step = steps[i];
    if (step === 0) mismatch('steps has a 0');
    // ONNX Slice: negative bounds count from the end, then clamp to [0, dim] (step > 0) or [-1, dim - 1].
    const clamp = (v: number, low: number, high: number) => Math.min(high, Math.max(low, v < 0 ? v + dim : v));
    const start = step > 0 ? clamp(s, 0, dim) : clamp(s, -1, dim - 1);
    const end = step > 0 ? clamp(ends[i], 0, dim) : clamp(ends[i], -1, dim - 1);
    const count = Math.max(0, Math.ceil((end - start) / step));
    out[axis] = { start, step, count };
  });
  return out;
}

export const Slice: Operator<null> = {
  inputs: [3, 5],
  outputs: [1, 1],
  prepare: noAttributes,
  infer(_, inputs) {
    const data = required(inputs, 0, 'data');
    return [{ type: data.type, shape: sliceAxes(inputs).map((a) => a.count) }];
  },
  run(_, inputs, outputs) {
    const data = present(inputs, 0);
    const metas = inputs.map((t) => (t === null ? null : meta(t)));
    const axes = sliceAxes(metas);
    const strides = stridesOf(data.shape);
    const start = axes.reduce((sum, a, k) => sum + a.start * strides[k], 0);
    return [
      gatherStrided(
        data,
        outputs[0].shape,
        axes.map((a, k) => a.step * strides[k]),
        start,
      ),
    ];
  },
};
