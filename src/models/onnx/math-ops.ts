/**
 * The arithmetic operators torch.onnx.export writes for the heads around an RNN, as ONNX opset 13+ defines them:
 * MatMul (nn.Linear on every step: [..., M, K] × [K, N]), Add (its bias, numpy broadcasting), Gemm (nn.Linear on
 * a 2-D input), Softmax and LogSoftmax (one axis, default the last). Float32 tensors in and out; every sum is
 * formed in float64 and rounded once, which is within float32 rounding of what onnxruntime computes.
 */
import { Attributes, noAttributes, nodeLabel } from './attributes.js';
import { fail } from './decode.js';
import { type Operator, mismatch, normaliseAxis, rankIs, required, sameType } from './operator.js';
import { type Tensor, type TensorMeta, elementsOf, formatShape, makeTensor, stridesOf } from './tensor.js';

const floats = (meta: TensorMeta, what: string): TensorMeta =>
  meta.type === 'float' ? meta : mismatch(`${what} is int; expected float`);

export const MatMul: Operator<null> = {
  inputs: [2, 2],
  outputs: [1, 1],
  prepare: noAttributes,
  infer(_, inputs) {
    const a = floats(required(inputs, 0, 'A'), 'input 0 (A)');
    const b = floats(required(inputs, 1, 'B'), 'input 1 (B)');
    if (a.shape.length < 2) mismatch(`input 0 (A) has shape ${formatShape(a.shape)}; expected at least 2 dimensions`);
    const lead = a.shape.slice(0, -1);
    const k = a.shape[a.shape.length - 1];
    const sharedB = b.shape.length === 2;
    const batchedB = b.shape.length === a.shape.length && b.shape.slice(0, -2).every((d, i) => d === a.shape[i]);
    if (!sharedB && !batchedB)
      mismatch(`input 1 (B) has shape ${formatShape(b.shape)}; expected [K, N] or A's leading dimensions then [K, N]`);
    if (b.shape[b.shape.length - 2] !== k)
      mismatch(`A ${formatShape(a.shape)} and B ${formatShape(b.shape)} do not agree on K`);
    return [{ type: 'float', shape: [...lead, b.shape[b.shape.length - 1]] }];
  },
  cost: (_, inputs, outputs) => elementsOf(outputs[0].shape) * (inputs[0] as TensorMeta).shape.slice(-1)[0],
  run(_, inputs, outputs) {
    const [a, b] = inputs as Tensor[];
    const k = a.shape[a.shape.length - 1];
    const n = b.shape[b.shape.length - 1];
    const rows = elementsOf(a.shape.slice(0, -1));
    const m = a.shape[a.shape.length - 2];
    const out = makeTensor('float', outputs[0].shape);
    const perB = b.shape.length === 2 ? 0 : k * n;
    for (let r = 0; r < rows; r++) {
      const bAt = Math.floor(r / m) * perB;
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += a.data[r * k + i] * b.data[bAt + i * n + j];
        out.data[r * n + j] = sum;
      }
    }
    return [out];
  },
};

/** Numpy's multidirectional broadcast of two shapes. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[i - rank + a.length] ?? 1;
    const y = b[i - rank + b.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1) mismatch(`shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast`);
    return x === 1 ? y : x;
  });
}

/** The strides to read `shape` as if broadcast to `to` (0 along broadcast axes). */
function broadcastStrides(shape: readonly number[], to: readonly number[]): number[] {
  const own = stridesOf(shape);
  return to.map((_, i) => {
    const k = i - to.length + shape.length;
    return k < 0 || shape[k] === 1 ? 0 : own[k];
  });
}

export const Add: Operator<null> = {
  inputs: [2, 2],
  outputs: [1, 1],
  prepare: noAttributes,
  infer(_, inputs) {
    const a = required(inputs, 0, 'A');
    const b = required(inputs, 1, 'B');
    sameType(a, b, 'A and B');
    return [{ type: a.type, shape: broadcastShape(a.shape, b.shape) }];
  },
  run(_, inputs, outputs) {
    const [a, b] = inputs as Tensor[];
    const shape = outputs[0].shape;
    const out = makeTensor(a.type, shape);
    const sa = broadcastStrides(a.shape, shape);
    const sb = broadcastStrides(b.shape, shape);
    const rank = shape.length;
    const index = new Array<number>(rank).fill(0);
    let ia = 0;
    let ib = 0;
    for (let o = 0; o < out.data.length; o++) {
      out.data[o] = a.data[ia] + b.data[ib];
      for (let k = rank - 1; k >= 0; k--) {
        index[k]++;
        ia += sa[k];
        ib += sb[k];
        if (index[k] < shape[k]) break;
        ia -= sa[k] * shape[k];
        ib -= sb[k] * shape[k];
        index[k] = 0;
      }
    }
    return [out];
  },
};

interface GemmSettings {
  alpha: number;
  beta: number;
  transA: boolean;
  transB: boolean;
}

export const Gemm: Operator<GemmSettings> = {
  inputs: [2, 3],
  outputs: [1, 1],
  prepare(node) {
    const a = new Attributes(node, ['alpha', 'beta', 'transA', 'transB']);
    const flag = (name: string) => {
      const v = a.int(name, 0);
      if (v !== 0 && v !== 1) fail(`${nodeLabel(node)}: attribute '${name}' is ${v}; expected 0 or 1`);
      return v === 1;
    };
    return { alpha: a.float('alpha', 1), beta: a.float('beta', 1), transA: flag('transA'), transB: flag('transB') };
  },
  infer({ transA, transB }, inputs) {
    const a = floats(required(inputs, 0, 'A'), 'input 0 (A)');
    const b = floats(required(inputs, 1, 'B'), 'input 1 (B)');
    rankIs(a, 2, 'input 0 (A)');
    rankIs(b, 2, 'input 1 (B)');
    const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
    const [kb, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
    if (k !== kb) mismatch(`A ${formatShape(a.shape)} and B ${formatShape(b.shape)} do not agree on K`);
    const c = inputs[2];
    if (c != null) {
      floats(c, 'input 2 (C)');
      if (broadcastShape(c.shape, [m, n]).some((d, i) => d !== [m, n][i]))
        mismatch(`input 2 (C) has shape ${formatShape(c.shape)}; it must broadcast to [${m}, ${n}]`);
    }
    return [{ type: 'float', shape: [m, n] }];
  },
  cost: ({ transA }, inputs, outputs) => elementsOf(outputs[0].shape) * (inputs[0] as TensorMeta).shape[transA ? 0 : 1],
  run({ alpha, beta, transA, transB }, inputs, outputs) {
    const [a, b] = inputs as Tensor[];
    const c = inputs[2] ?? null;
    const [m, n] = outputs[0].shape;
    const k = a.shape[transA ? 0 : 1];
    const out = makeTensor('float', [m, n]);
    const cStrides = c === null ? [0, 0] : broadcastStrides(c.shape, [m, n]);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const x = transA ? a.data[p * m + i] : a.data[i * k + p];
          const y = transB ? b.data[j * k + p] : b.data[p * n + j];
          sum += x * y;
        }
        const bias = c === null ? 0 : c.data[i * cStrides[0] + j * cStrides[1]];
        out.data[i * n + j] = alpha * sum + beta * bias;
      }
    return [out];
  },
};

/** Softmax (log = false) or LogSoftmax along one axis, with the maximum subtracted first. */
function softmaxOperator(log: boolean): Operator<{ axis: number }> {
  return {
    inputs: [1, 1],
    outputs: [1, 1],
    prepare: (node) => ({ axis: new Attributes(node, ['axis']).int('axis', -1) }),
    infer({ axis }, inputs) {
      const x = floats(required(inputs, 0, 'input'), 'input 0');
      normaliseAxis(axis, x.shape.length);
      return [{ type: 'float', shape: x.shape }];
    },
    cost: (_, __, outputs) => 3 * elementsOf(outputs[0].shape),
    run({ axis }, inputs, outputs) {
      const x = inputs[0] as Tensor;
      const at = normaliseAxis(axis, x.shape.length);
      const dim = x.shape[at];
      const inner = elementsOf(x.shape.slice(at + 1));
      const outer = elementsOf(x.shape.slice(0, at));
      const out = makeTensor('float', outputs[0].shape);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          const base = o * dim * inner + i;
          let max = Number.NEGATIVE_INFINITY;
          for (let d = 0; d < dim; d++) max = Math.max(max, x.data[base + d * inner]);
          let sum = 0;
          for (let d = 0; d < dim; d++) sum += Math.exp(x.data[base + d * inner] - max);
          const logSum = Math.log(sum);
          for (let d = 0; d < dim; d++) {
            const shifted = x.data[base + d * inner] - max;
            out.data[base + d * inner] = log ? shifted - logSum : Math.exp(shifted) / sum;
          }
        }
      return [out];
    },
  };
}

export const Softmax = softmaxOperator(false);
export const LogSoftmax = softmaxOperator(true);
