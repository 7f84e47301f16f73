/**
 * The load-time check of a decoded graph, and the interpreter's two passes over it.
 *
 * `prepareProgram` refuses, with one line `node 'name' (OpType): problem`, any operator outside OPERATORS, any
 * attribute an operator does not define (or this server does not implement), wrong input or output counts,
 * nodes out of topological order or reading undefined tensors, graph inputs of other element types than
 * FLOAT/INT64/INT32 and outputs that are not FLOAT; then it plans the graph once with every dynamic axis set to
 * PROBE_SIZE, so a graph whose shapes cannot be worked out (a Reshape fed by request data, a MatMul this
 * interpreter does not implement, shapes that disagree) is refused at start-up, not on the first request.
 *
 * `planProgram` works out, from the request's input shapes alone, every tensor's type and shape, the values of
 * the small int tensors that shapes and constants make (folded: Shape → Gather → Unsqueeze → Concat, as torch
 * writes to build a zero h0), the multiply-adds and the bytes of every float tensor. The caller checks those
 * against the limits before `runProgram` allocates anything that scales with the request.
 */
import { nodeLabel } from './attributes.js';
import { type OnnxGraph, type OnnxNode, ONNX_TYPES, decodeOnnx, fail, typeName } from './decode.js';
import { GRU, LSTM } from './gated-op.js';
import { Add, Gemm, LogSoftmax, MatMul, Softmax } from './math-ops.js';
import { type Operator, ShapeError } from './operator.js';
import { RNN } from './rnn-op.js';
import {
  Concat,
  Constant,
  ConstantOfShape,
  Gather,
  Identity,
  Reshape,
  Shape,
  Slice,
  Squeeze,
  Transpose,
  Unsqueeze,
} from './shape-ops.js';
import { type Tensor, type TensorMeta, elementsOf, formatShape } from './tensor.js';

// biome-ignore lint/suspicious/noExplicitAny: each operator has its own settings type, opaque to the interpreter
type AnyOperator = Operator<any>;

export const OPERATORS: Readonly<Record<string, AnyOperator>> = {
  Add,
  Concat,
  Constant,
  ConstantOfShape,
  GRU,
  Gather,
  Gemm,
  Identity,
  LSTM,
  LogSoftmax,
  MatMul,
  RNN,
  Reshape,
  Shape,
  Slice,
  Softmax,
  Squeeze,
  Transpose,
  Unsqueeze,
};

/** The operators whose time steps and batch are checked against MAX_TIME_STEPS and MAX_BATCH. */
const RECURRENT = new Set(['RNN', 'LSTM', 'GRU']);

/** The size every dynamic axis takes in the load-time plan. */
const PROBE_SIZE = 2;

/** Int tensors up to this many elements whose inputs are all known are computed while planning. */
const MAX_FOLDED_ELEMENTS = 4096;

export interface PreparedNode {
  readonly node: OnnxNode;
  readonly op: AnyOperator;
  readonly settings: unknown;
}

export interface GraphTensor {
  readonly name: string;
  /** FP32, INT64 or INT32, as the graph declares it. */
  readonly datatype: string;
  /** -1 for a dynamic axis. */
  readonly shape: readonly number[];
}

export interface OnnxProgram {
  readonly graph: OnnxGraph;
  readonly nodes: readonly PreparedNode[];
  readonly inputs: readonly GraphTensor[];
  readonly outputs: readonly GraphTensor[];
}

/**
 * The model.onnx bytes a program was decoded from, for a worker to decode its own copy once per `id` (a program's
 * initializers would be copied into every task; these bytes are shared with the workers, not copied).
 */
export interface OnnxSource {
  /** Unique in the process: a program loaded again (another model, or the same file twice) has another id. */
  readonly id: number;
  /** A view over a SharedArrayBuffer. */
  readonly bytes: Uint8Array;
}

export interface ProgramPlan {
  /** Every tensor's type and shape (and value when it was known while planning), by name. */
  readonly metas: ReadonlyMap<string, TensorMeta>;
  /** Each node's output metas, in node order (also for outputs the graph leaves unnamed). */
  readonly nodeOutputs: readonly (readonly TensorMeta[])[];
  /** Multiply-adds, summed over the nodes. */
  readonly compute: number;
  /**
   * Bytes of every tensor the run creates (none is freed before the end of the run), plus the largest work space
   * a node takes while it runs.
   */
  readonly bytes: number;
  /** The longest sequence and the largest batch any recurrent node (RNN, LSTM, GRU) runs. */
  readonly timeSteps: number;
  readonly batch: number;
}

export function prepareProgram(graph: OnnxGraph): OnnxProgram {
  const defined = new Set<string>(graph.initializers.keys());
  const inputs = graph.inputs.map((input): GraphTensor => {
    const type = ONNX_TYPES[input.elemType];
    if (type === undefined)
      fail(`input '${input.name}' is ${typeName(input.elemType)}; rnn-serve serves FLOAT, INT64 and INT32 inputs`);
    if (input.shape.some((d) => d === 0 || d < -1))
      fail(`input '${input.name}' has shape ${formatShape(input.shape)}; dimensions must be positive or dynamic`);
    defined.add(input.name);
    return { name: input.name, datatype: type.datatype, shape: input.shape };
  });
  const nodes = graph.nodes.map((node): PreparedNode => {
    const label = nodeLabel(node);
    const op = OPERATORS[node.opType];
    if (op === undefined)
      fail(`${label}: operator ${node.opType} is not supported (supported: ${Object.keys(OPERATORS).join(', ')})`);
    const present = node.inputs.length;
    if (present < op.inputs[0] || present > op.inputs[1])
      fail(
        `${label}: has ${present} inputs; expected ${op.inputs[0]}${op.inputs[1] === op.inputs[0] ? '' : ` to ${op.inputs[1]}`}`,
      );
    if (node.outputs.length < op.outputs[0] || node.outputs.length > op.outputs[1])
      fail(`${label}: has ${node.outputs.length} outputs; expected ${op.outputs[0]} to ${op.outputs[1]}`);
    for (const input of node.inputs)
      if (input !== '' && !defined.has(input))
        fail(`${label}: reads '${input}', which no earlier node, input or initializer defines`);
    const settings = op.prepare(node);
    for (const output of node.outputs) {
      if (output === '') continue;
      if (defined.has(output)) fail(`${label}: writes '${output}', which is already defined`);
      defined.add(output);
    }
    return { node, op, settings };
  });
  const outputs = graph.outputs.map((output): GraphTensor => {
    if (!defined.has(output.name)) fail(`output '${output.name}' is not computed by any node`);
    if (output.elemType !== 1)
      fail(`output '${output.name}' is ${typeName(output.elemType)}; rnn-serve serves FLOAT outputs`);
    return { name: output.name, datatype: 'FP32', shape: output.shape };
  });
  const program = { graph, nodes, inputs, outputs };
  const probe = new Map(
    inputs.map((input) => [
      input.name,
      {
        type: ONNX_TYPES[graph.inputs.find((i) => i.name === input.name)?.elemType ?? 1].type,
        shape: input.shape.map((d) => (d === -1 ? PROBE_SIZE : d)),
      } as TensorMeta,
    ]),
  );
  try {
    planProgram(program, probe);
  } catch (error) {
    if (error instanceof NodeShapeError)
      fail(`${error.label}: ${error.message} (planned with every dynamic axis ${PROBE_SIZE})`);
    throw error;
  }
  return program;
}

/** A model.onnx file's bytes → its checked program; problems throw an OnnxModelError with one line. */
export const loadOnnxProgram = (bytes: Uint8Array): OnnxProgram => prepareProgram(decodeOnnx(bytes));

/** A ShapeError with the node it came from, and the name of the node's input at fault (null: none in particular). */
export class NodeShapeError extends Error {
  readonly label: string;
  readonly input: string | null;

  constructor(
    readonly node: OnnxNode,
    error: ShapeError,
  ) {
    super(error.message);
    this.label = nodeLabel(node);
    this.input = error.input === null ? null : (node.inputs[error.input] ?? null);
  }
}

/** `inputs`: the request's input metas by name (values unknown). Throws NodeShapeError. */
export function planProgram(program: OnnxProgram, inputs: ReadonlyMap<string, TensorMeta>): ProgramPlan {
  const metas = new Map<string, TensorMeta>();
  for (const [name, tensor] of program.graph.initializers)
    metas.set(name, { type: tensor.type, shape: tensor.shape, known: tensor });
  for (const [name, meta] of inputs) metas.set(name, meta);
  let compute = 0;
  let bytes = 0;
  // The largest work space of one node: each is freed before the next node runs.
  let work = 0;
  let timeSteps = 0;
  let batch = 0;
  const nodeOutputs: TensorMeta[][] = [];
  for (const { node, op, settings } of program.nodes) {
    const given = node.inputs.map((name) => (name === '' ? null : (metas.get(name) as TensorMeta)));
    let outputs: TensorMeta[];
    try {
      outputs = op.infer(settings, given);
      if (
        outputs.every((o) => o.type === 'int' && o.known === undefined) &&
        given.every((g) => g === null || g.known !== undefined) &&
        outputs.reduce((n, o) => n + elementsOf(o.shape), 0) <= MAX_FOLDED_ELEMENTS
      ) {
        const values = op.run(
          settings,
          given.map((g) => g?.known ?? null),
          outputs,
        );
        outputs = outputs.map((o, i) => ({ ...o, known: values[i] }));
      }
    } catch (error) {
      if (error instanceof ShapeError) throw new NodeShapeError(node, error);
      throw error;
    }
    compute += op.cost ? op.cost(settings, given, outputs) : outputs.reduce((n, o) => n + elementsOf(o.shape), 0);
    if (op.workBytes) work = Math.max(work, op.workBytes(settings, given));
    if (RECURRENT.has(node.opType)) {
      const [first, second] = (given[0] as TensorMeta).shape;
      const layout = (settings as { layout: number }).layout;
      timeSteps = Math.max(timeSteps, layout === 0 ? first : second);
      batch = Math.max(batch, layout === 0 ? second : first);
    }
    nodeOutputs.push(outputs);
    // Every output the node computes takes memory, also one the graph leaves unnamed (an RNN's Y when only Y_h is used).
    for (const meta of outputs)
      if (meta.known === undefined) bytes += elementsOf(meta.shape) * (meta.type === 'float' ? 4 : 8);
    node.outputs.forEach((name, i) => {
      if (name !== '') metas.set(name, outputs[i]);
    });
  }
  return { metas, nodeOutputs, compute, bytes: bytes + work, timeSteps, batch };
}

/** Runs the planned program on the request's tensors; returns every tensor by name (the graph's outputs among them). */
export function runProgram(
  program: OnnxProgram,
  plan: ProgramPlan,
  inputs: ReadonlyMap<string, Tensor>,
): Map<string, Tensor> {
  const values = new Map<string, Tensor>(program.graph.initializers);
  for (const [name, tensor] of inputs) values.set(name, tensor);
  for (const [k, { node, op, settings }] of program.nodes.entries()) {
    const metas = plan.nodeOutputs[k];
    let outputs: Tensor[];
    if (metas.every((m) => m.known !== undefined)) outputs = metas.map((m) => m.known as Tensor);
    else {
      const given = node.inputs.map((name) => (name === '' ? null : (values.get(name) as Tensor)));
      try {
        outputs = op.run(settings, given, metas);
      } catch (error) {
        if (error instanceof ShapeError) throw new NodeShapeError(node, error);
        throw error;
      }
    }
    node.outputs.forEach((name, i) => {
      if (name !== '') values.set(name, outputs[i]);
    });
  }
  return values;
}
