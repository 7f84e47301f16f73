/**
 * An ONNX graph's plan for one inference request (inference/request.ts). The request names every graph input (the
 * inference protocol), or asks for the forward view (our routes): its one input is the graph's one input, its
 * answer the graph's first output and, when the second is `[k, batch, hidden]` (torch's h_n), its k final states.
 * In order, before anything that scales with the request is allocated:
 *   1. names, datatypes (a FLOAT input also takes FP64 and FP16, rounded to float32; an integer input takes INT64
 *      and INT32), ranks and fixed dimensions against the graph's declaration, binary sizes against shapes;
 *   2. MAX_INPUT_VALUES over all inputs;
 *   3. the plan (program.ts): every tensor's shape, then MAX_BATCH and MAX_TIME_STEPS for each RNN node,
 *      MAX_COMPUTE for the multiply-adds of the whole graph and MAX_OUTPUT_VALUES for the answered outputs (a
 *      ranked output also CLASS_ENTRY_VALUES per class entry);
 *   4. JSON data: every value against float32 (FP32) or the integers (INT64/INT32), all problems in one 400;
 * then binary data is read (runInputs), the graph runs (here or on a worker), and the result is named (onnxResult).
 */
import type { Limits } from '../../config/config.js';
import { ProblemError, invalidAt, limitExceeded, truncated } from '../../errors/problem-error.js';
import { littleEndianBytes, readFloats } from '../../codec/binary-tensors.js';
import { ProblemList, storeFloat32 } from '../../codec/tensors.js';
import { CLASS_ENTRY_VALUES } from '../../inference/classes.js';
import type {
  InferenceRequest,
  InferenceResult,
  RequestTensor,
  ResultFacts,
  ResultTensor,
  TensorRole,
} from '../../inference/request.js';
import {
  FLOAT_DATATYPES,
  INTEGER_DATATYPES,
  checkByteSize,
  checkDatatype,
  jsonValues,
} from '../../inference/request-tensors.js';
import {
  type GraphTensor,
  NodeShapeError,
  type OnnxProgram,
  type ProgramPlan,
  planProgram,
  runProgram,
} from './program.js';
import { classificationCount } from './classifier.js';
import { type Tensor, type TensorMeta, elementsOf, formatShape } from './tensor.js';
import { onnxGraphSummary } from './metadata.js';

export interface OnnxModel {
  readonly name: string;
  readonly version: string;
  readonly program: OnnxProgram;
  /** Class labels of its classifier outputs (labels.txt); absent or null: none, `score:index` answers. */
  readonly labels?: readonly string[] | null;
}

/** An output of the answer: the graph output, its role, its ranking, and (h_n) whether it is split into its states. */
export interface AnsweredOutput {
  readonly name: string;
  readonly role: TensorRole;
  readonly classes: number | null;
  /** h_n [k, batch, hidden] answered as k states [batch, hidden]. */
  readonly split: boolean;
}

/** What a run takes besides the program and its plan; plain data, so that it can cross to a worker. */
export interface OnnxRunInputs {
  /** The graph's inputs, by name. */
  readonly inputs: ReadonlyMap<string, Tensor>;
  /** The outputs to answer, in order. */
  readonly outputs: readonly AnsweredOutput[];
  /** Each input's data as the request names it (`inputs[1].data`): a problem found while running is named there. */
  readonly paths: ReadonlyMap<string, string>;
  readonly facts: ResultFacts;
  /** A sequence chunk: the state outputs whose values the next chunk continues from (onnxStatePairs). */
  readonly carry: readonly string[];
}

/** A state a graph carries from chunk to chunk of a sequence: the input it starts from, the output it ends in. */
export interface StatePair {
  readonly input: string;
  readonly output: string;
}

/** The names PyTorch's ONNX export gives an RNN's states: h0 → h_n, c0 → c_n (and their common variants). */
const STATE_NAMES: readonly [RegExp, RegExp][] = [
  [/^(h0|h_0|initial_h|state_in|hidden_in)$/, /^(h_n|hn|h_1|y_h|state_out|hidden_out)$/],
  [/^(c0|c_0|initial_c|cell_in)$/, /^(c_n|cn|c_1|y_c|cell_out)$/],
];

/**
 * The graph's state pairs, recognised by name (PyTorch's exports: h0 → h_n, c0 → c_n) with the same declared
 * shape, or declared by the model's configuration (`declared`).
 */
export function onnxStatePairs(program: OnnxProgram, declared: readonly StatePair[] = []): StatePair[] {
  if (declared.length > 0) return [...declared];
  const pairs: StatePair[] = [];
  for (const [inputName, outputName] of STATE_NAMES) {
    const input = program.inputs.find((i) => inputName.test(i.name));
    const output = program.outputs.find((o) => outputName.test(o.name));
    if (input === undefined || output === undefined) continue;
    if (input.shape.join() !== output.shape.join()) continue;
    pairs.push({ input: input.name, output: output.name });
  }
  return pairs;
}

/**
 * The pairs a sequence of this graph carries, or the 400 that says why it cannot: no state inputs and outputs, or a
 * recurrent node that reads each sequence from its end (reverse, bidirectional), which a chunk does not have.
 */
export function onnxCarry(model: OnnxModel, at: string, declared: readonly StatePair[] = []): StatePair[] {
  const { program } = model;
  const backwards = program.nodes.find(
    ({ node, settings }) =>
      ['RNN', 'LSTM', 'GRU'].includes(node.opType) &&
      (settings as { direction?: string }).direction !== undefined &&
      (settings as { direction?: string }).direction !== 'forward',
  );
  if (backwards !== undefined)
    invalidAt(
      at,
      `model '${model.name}' version ${model.version} cannot carry a sequence's state from chunk to chunk: its ${backwards.node.opType} node '${backwards.node.name}' runs ${(backwards.settings as { direction: string }).direction}, reading each sequence from its end, which a chunk does not have; send each sequence whole, without a sequence id`,
    );
  const pairs = onnxStatePairs(program, declared);
  if (pairs.length === 0)
    invalidAt(
      at,
      `model '${model.name}' version ${model.version} cannot carry a sequence's state: the graph has no state inputs and outputs it recognises (PyTorch's h0 → h_n, c0 → c_n, each pair of one declared shape), and its configuration declares none`,
    );
  return pairs;
}

/** A sequence chunk's plan: the state its previous chunk left (one array per pair), or null for the first. */
export interface OnnxSequenceStep {
  readonly carried: readonly Float32Array[] | null;
  readonly named: string;
  readonly pairs: readonly StatePair[];
  /** Where the request named its sequence. */
  readonly at: string;
}

export interface OnnxPlan {
  readonly plan: ProgramPlan;
  /** Bytes the run holds: the inputs, and every tensor the plan creates. */
  readonly bytes: number;
  /** [batch, time] of the largest RNN node, for the metrics. */
  readonly shape: readonly [number, number];
  /** Reads the binary inputs (JSON ones were read by the plan): what the run takes, here or on a worker. Once. */
  runInputs(): OnnxRunInputs;
}

/** Checks one given input against the graph's declaration of it (datatype, rank, fixed dimensions, bytes). */
function checkInput(input: RequestTensor, shape: readonly number[], declared: GraphTensor): void {
  const integer = declared.datatype !== 'FP32';
  checkDatatype(input, integer ? INTEGER_DATATYPES : FLOAT_DATATYPES, '');
  const fits = shape.length === declared.shape.length && declared.shape.every((d, i) => d === -1 || d === shape[i]);
  if (!fits)
    invalidAt(
      input.at.shape,
      `is ${formatShape(shape)}; input '${declared.name}' is ${formatShape(declared.shape)} (-1: any size)`,
    );
  checkByteSize(input);
}

/** A binary integer input's values, exact up to 2^53 (token ids, lengths). */
function readBinaryIntegers(input: RequestTensor, shape: readonly number[], bytes: Uint8Array): Float64Array {
  const count = elementsOf(shape);
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const value = input.datatype === 'INT32' ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true));
    if (!Number.isSafeInteger(value))
      invalidAt(`${input.at.tensor}[${i}]`, `is ${value}; beyond 2^53, which this server does not read`);
    out[i] = value;
  }
  return out;
}

/**
 * A JSON input as the graph's tensor, each value that does not fit (beyond float32, or not an integer for an
 * integer input) added to `problems` at its place.
 */
function readJsonTensor(
  input: RequestTensor,
  values: readonly number[],
  shape: readonly number[],
  declared: GraphTensor,
  problems: ProblemList,
): Tensor {
  const at = (j: number) => `${input.at.data}[${j}]`;
  if (declared.datatype === 'FP32') {
    const data = new Float32Array(values.length);
    storeFloat32(values, data, 0, at, problems);
    return { type: 'float', shape, data };
  }
  const data = new Float64Array(values.length);
  for (let j = 0; j < values.length; j++) {
    const value = values[j];
    if (Number.isSafeInteger(value)) data[j] = value;
    else if (!problems.listing) problems.countUnlisted();
    else
      problems.add(
        at(j),
        Number.isInteger(value)
          ? `is ${value}; beyond 2^53, which this server does not read`
          : `is ${value}; expected an integer (input '${input.name}' is ${input.datatype ?? declared.datatype})`,
      );
  }
  return { type: 'int', shape, data };
}

/**
 * A problem found while planning or running: the request's shapes or values do not fit the graph. Named at the
 * request's tensor when that tensor feeds the node at fault directly (token ids into Gather, sequence_lens into
 * RNN), else at `inputs`.
 */
function asProblem(error: unknown, paths: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof NodeShapeError)) return error;
  const input = error.input === null ? undefined : paths.get(error.input);
  return ProblemError.at('invalid-request', [{ path: input ?? 'inputs', message: `${error.label}: ${error.message}` }]);
}

/** The shape of nested `[batch][time][features]` (checked element by element later, against this shape). */
function nestedShape(inputs: readonly unknown[]): number[] {
  const first = inputs[0] as unknown[] | undefined;
  const step = first?.[0] as unknown[] | undefined;
  return [inputs.length, first?.length ?? 0, step?.length ?? 0];
}

/** An input tensor as the graph takes it: its shape and its values (JSON: flat numbers; binary: bytes). */
interface Given {
  readonly tensor: RequestTensor;
  readonly shape: readonly number[];
  /** JSON values, flat, or null for binary data. */
  readonly json: (() => readonly number[]) | null;
}

/**
 * The forward view: `input` is the graph's one input (nested `[batch][time][features]`, or for a `[batch, time]`
 * graph input also `[batch][time][1]`, the TF.js Embedding convention; or flat), and nothing else is taken.
 */
function viewInputs(
  model: OnnxModel,
  request: InferenceRequest,
  where: string,
  fromState: ReadonlySet<string>,
): Map<string, Given> {
  const { program } = model;
  const fed = program.inputs.filter((i) => !fromState.has(i.name));
  for (const tensor of request.inputs)
    if (tensor.name !== 'input' || tensor.values.kind === 'text')
      invalidAt(
        tensor.at.tensor,
        `is not taken by model '${model.name}', an ONNX graph: send the graph's inputs to ${where}`,
      );
  if (request.options.returnSequences === false)
    invalidAt(
      request.optionsAt.returnSequences,
      `is false; model '${model.name}' is an ONNX graph, whose outputs are what it computes (${where} names them)`,
    );
  if (fed.length !== 1)
    invalidAt(
      'inputs',
      `feeds one input; model '${model.name}' is an ONNX graph with inputs ${program.inputs.map((i) => `'${i.name}'`).join(', ')}: name them in ${where}`,
    );
  const declared = fed[0];
  const tensor = request.inputs[0];
  if (tensor === undefined) return invalidAt('inputs', `is required (the graph's input '${declared.name}')`);
  const named = { ...tensor, name: declared.name };
  const { values } = named;
  if (values.kind === 'nested' && named.shape === null) {
    const shape = nestedShape(values.value);
    if (declared.shape.length === 2 && shape[2] === 1) {
      const ids = (values.value as number[][][]).map((sequence, b) =>
        sequence.map((step, i) =>
          step.length === 1
            ? step[0]
            : invalidAt(`${tensor.at.tensor}[${b}][${i}]`, `has ${step.length} ids; expected 1`),
        ),
      );
      const squeezed = shape.slice(0, 2);
      const flat = { ...named, shape: squeezed, values: { kind: 'nested' as const, value: ids } };
      return new Map([[declared.name, { tensor: flat, shape: squeezed, json: () => jsonValues(flat) }]]);
    }
    const sized = { ...named, shape };
    return new Map([[declared.name, { tensor: sized, shape, json: () => jsonValues(sized) }]]);
  }
  return new Map([[declared.name, given(named)]]);
}

function given(tensor: RequestTensor): Given {
  const shape = tensor.shape ?? [];
  return { tensor, shape, json: tensor.values.kind === 'bytes' ? null : () => jsonValues(tensor) };
}

/** Every graph input, named once each (a sequence's state inputs may be left to the state: `fromState`). */
function namedInputs(model: OnnxModel, request: InferenceRequest, fromState: ReadonlySet<string>): Map<string, Given> {
  const { program } = model;
  const byName = new Map<string, Given>();
  const names = program.inputs.map((i) => `'${i.name}'`).join(', ');
  for (const tensor of request.inputs) {
    if (!program.inputs.some((i) => i.name === tensor.name))
      invalidAt(`${tensor.at.tensor}.name`, `is '${truncated(tensor.name)}'; the model's inputs are ${names}`);
    const first = byName.get(tensor.name);
    if (first !== undefined)
      invalidAt(
        `${tensor.at.tensor}.name`,
        `'${truncated(tensor.name)}' is given again (also ${first.tensor.at.tensor}); send each input once`,
      );
    byName.set(tensor.name, given(tensor));
  }
  const missing = program.inputs.filter((i) => !byName.has(i.name) && !fromState.has(i.name));
  if (missing.length > 0)
    invalidAt(
      'inputs',
      `has no tensor named ${missing.map((i) => `'${i.name}'`).join(', ')} (the model's inputs are ${names})`,
    );
  return byName;
}

/**
 * A sequence chunk's state inputs: the state its previous chunk left, or for the first chunk zeros (unless the
 * request gives them), shaped as the graph declares them with the one dynamic axis (the batch) 1.
 */
function addStates(model: OnnxModel, byName: Map<string, Given>, sequence: OnnxSequenceStep): void {
  const { program } = model;
  sequence.pairs.forEach((pair, i) => {
    if (byName.has(pair.input)) return;
    const declared = program.inputs.find((d) => d.name === pair.input) as GraphTensor;
    const dynamic = declared.shape.filter((d) => d === -1).length;
    if (dynamic > 1)
      invalidAt(
        sequence.at,
        `model '${model.name}' declares its state input '${pair.input}' as ${formatShape(declared.shape)}, with more than one dynamic axis: send '${pair.input}' with the chunk that starts the sequence`,
      );
    const shape = declared.shape.map((d) => (d === -1 ? 1 : d));
    const values = sequence.carried?.[i] ?? new Float32Array(elementsOf(shape));
    if (values.length !== elementsOf(shape))
      invalidAt(
        sequence.at,
        `${sequence.named} carries a state of ${values.length} values for '${pair.input}' ${formatShape(shape)}: it was not computed by this graph`,
      );
    const tensor: RequestTensor = {
      name: pair.input,
      datatype: 'FP32',
      shape,
      values: { kind: 'bytes', value: littleEndianBytes(values) },
      at: { tensor: sequence.at, shape: sequence.at, data: sequence.at },
    };
    byName.set(pair.input, { tensor, shape, json: null });
  });
}

/** The outputs to answer: the view, every output, or the ones named (each known and named once). */
function answeredOutputs(model: OnnxModel, request: InferenceRequest, where: string): AnsweredOutput[] {
  const { program } = model;
  const { outputs } = request;
  if (outputs === 'all')
    return program.outputs.map(({ name }) => ({ name, role: 'other' as const, classes: null, split: false }));
  if (outputs === 'view') {
    const [first, second] = program.outputs;
    const topK = request.options.topK;
    const topKAt = request.optionsAt.topK;
    if (topK !== undefined && first.shape.length !== 2 && first.shape.length !== 3)
      invalidAt(
        topKAt,
        `ranks rows of [batch, classes] or [batch, time, classes]; output '${first.name}' is ${formatShape(first.shape)}: ask ${where} for it with parameters.classification`,
      );
    const k = topK === undefined ? null : classificationCount(program, first.name, topK, topKAt);
    const view: AnsweredOutput[] = [{ name: first.name, role: 'output', classes: k, split: false }];
    const states = request.options.returnState !== false;
    if (second !== undefined && second.shape.length === 3 && states)
      view.push({ name: second.name, role: 'state', classes: null, split: true });
    return view;
  }
  const known = program.outputs.map((o) => o.name);
  const seen = new Map<string, string>();
  return outputs.map(({ name, classes, at }) => {
    if (!known.includes(name))
      invalidAt(
        `${at}.name`,
        `is '${truncated(name)}'; the model's outputs are ${known.map((k) => `'${k}'`).join(', ')}`,
      );
    const first = seen.get(name);
    if (first !== undefined)
      invalidAt(`${at}.name`, `'${name}' is requested again (also ${first}); each output may be named once`);
    seen.set(name, at);
    const k = classes === null ? null : classificationCount(program, name, classes.value, classes.at);
    return { name, role: 'other' as const, classes: k, split: false };
  });
}

/**
 * What an output costs the answer against MAX_OUTPUT_VALUES: its values, and with `classes` also
 * CLASS_ENTRY_VALUES per class entry (the output is computed whole before it is ranked).
 */
function answeredValues(program: OnnxProgram, plan: ProgramPlan, output: AnsweredOutput, at: string): number {
  const { shape } = plan.metas.get(output.name) as TensorMeta;
  const values = elementsOf(shape);
  if (output.classes === null) return values;
  // The labels are indexed by the declared class count: a graph whose computed shape disagrees is not ranked.
  const classes = shape[shape.length - 1];
  const declared = program.outputs.find((o) => o.name === output.name)?.shape.at(-1);
  if (classes !== declared)
    invalidAt(
      at,
      `'${output.name}' has ${classes} values per row for this request; the graph declares ${declared} classes`,
    );
  return values + (values / classes) * output.classes * CLASS_ENTRY_VALUES;
}

/** Where a ranked output's K was given, for the limit's message. */
function rankedAt(request: InferenceRequest, index: number): string {
  const { outputs } = request;
  if (outputs === 'view' || outputs === 'all') return request.optionsAt.topK;
  return outputs[index]?.classes?.at ?? 'outputs';
}

/** Checks and plans an inference; throws a ProblemError (400) for anything that does not fit the graph or the limits. */
export function planOnnx(
  model: OnnxModel,
  request: InferenceRequest,
  limits: Limits,
  sequence: OnnxSequenceStep | null = null,
): OnnxPlan {
  const { program } = model;
  const where = request.elsewhere ?? 'the inference protocol';
  const fromState = sequence === null ? new Set<string>() : new Set(sequence.pairs.map((p) => p.input));
  const asked =
    sequence === null
      ? request
      : { ...request, inputs: request.inputs.filter((t) => !fromState.has(t.name) || sequence.carried === null) };
  if (sequence !== null && sequence.carried !== null) {
    const given = request.inputs.find((t) => fromState.has(t.name));
    if (given !== undefined)
      invalidAt(
        given.at.tensor,
        `is given to ${sequence.named}, which is in progress: its state is the one its previous chunk left; send initial states only with the chunk that starts it`,
      );
  }
  const byName =
    request.outputs === 'view' ? viewInputs(model, asked, where, fromState) : namedInputs(model, asked, fromState);
  if (sequence !== null) addStates(model, byName, sequence);
  const paths = new Map<string, string>();
  let inputValues = 0;
  for (const declared of program.inputs) {
    const input = byName.get(declared.name) as Given;
    checkInput(input.tensor, input.shape, declared);
    paths.set(declared.name, input.tensor.at.data);
    inputValues += elementsOf(input.shape);
  }
  if (inputValues > limits.maxInputValues)
    throw limitExceeded('inputs', 'the elements of all inputs', inputValues, limits.maxInputValues, 'MAX_INPUT_VALUES');
  const outputs = answeredOutputs(model, request, where);
  const metas = new Map<string, TensorMeta>(
    program.inputs.map((d) => [
      d.name,
      { type: d.datatype === 'FP32' ? 'float' : 'int', shape: (byName.get(d.name) as Given).shape },
    ]),
  );
  let plan: ProgramPlan;
  try {
    plan = planProgram(program, metas);
  } catch (error) {
    throw asProblem(error, paths);
  }
  if (plan.batch > limits.maxBatch)
    throw limitExceeded('inputs', 'the batch of an RNN node', plan.batch, limits.maxBatch, 'MAX_BATCH');
  if (plan.timeSteps > limits.maxTimeSteps)
    throw limitExceeded(
      'inputs',
      'the time steps of an RNN node',
      plan.timeSteps,
      limits.maxTimeSteps,
      'MAX_TIME_STEPS',
    );
  if (plan.compute > limits.maxCompute)
    throw limitExceeded('inputs', "the graph's multiply-adds", plan.compute, limits.maxCompute, 'MAX_COMPUTE');
  const outputValues = outputs.reduce((n, o, i) => n + answeredValues(program, plan, o, rankedAt(request, i)), 0);
  if (outputValues > limits.maxOutputValues)
    throw limitExceeded(
      'outputs',
      'the values of the answered outputs',
      outputValues,
      limits.maxOutputValues,
      'MAX_OUTPUT_VALUES',
    );

  // JSON data is already parsed and held; its typed copy (at most MAX_INPUT_VALUES × 8 bytes, checked above) is made
  // here so that its problems are a 400 before memory is reserved for the run. Binary data is read by `runInputs`.
  const problems = new ProblemList();
  const json = new Map<string, Tensor>();
  for (const declared of program.inputs) {
    const input = byName.get(declared.name) as Given;
    if (input.json !== null)
      json.set(declared.name, readJsonTensor(input.tensor, input.json(), input.shape, declared, problems));
  }
  if (!problems.empty) throw problems.error();
  const mainInput = byName.get(program.inputs[0].name) as Given;
  const facts: ResultFacts = {
    model: { name: model.name, version: model.version },
    inputShape: mainInput.shape,
    vocabulary: null,
    labels: model.labels ?? null,
    summary: null,
    graph: JSON.stringify(onnxGraphSummary(program)),
  };
  const runInputs = (): OnnxRunInputs => ({
    inputs: new Map(
      program.inputs.map((d) => {
        const { tensor, shape } = byName.get(d.name) as Given;
        const bytes = tensor.values.value as Uint8Array;
        const read = (): Tensor =>
          d.datatype !== 'FP32'
            ? { type: 'int', shape, data: readBinaryIntegers(tensor, shape, bytes) }
            : {
                type: 'float',
                shape,
                data: readFloats(bytes, tensor.datatype ?? 'FP32', elementsOf(shape), tensor.at.tensor),
              };
        return [d.name, json.get(d.name) ?? read()];
      }),
    ),
    outputs,
    paths,
    facts,
    carry: sequence === null ? [] : sequence.pairs.map((p) => p.output),
  });
  if (sequence !== null && plan.batch > 1)
    invalidAt(
      'inputs',
      `has ${plan.batch} sequences; a chunk of ${sequence.named} carries one (a batch of 1): send each sequence's chunks in requests of their own`,
    );
  return { plan, bytes: plan.bytes + inputValues * 8, shape: [plan.batch, plan.timeSteps], runInputs };
}

/**
 * Runs a planned program and names its answer: the requested outputs by name, h_n split into its states. Throws a
 * ProblemError for what only the values show (a sequence length beyond the time steps). The one run of inline and
 * worker inferences alike.
 */
export function runOnnx(
  program: OnnxProgram,
  plan: ProgramPlan,
  run: OnnxRunInputs,
): InferenceResult & { readonly carried: Float32Array[] } {
  let values: Map<string, Tensor>;
  try {
    values = runProgram(program, plan, run.inputs);
  } catch (error) {
    throw asProblem(error, run.paths);
  }
  const tensors: ResultTensor[] = [];
  for (const output of run.outputs) {
    const { shape, data } = values.get(output.name) as Tensor;
    const floats = data as Float32Array;
    if (!output.split) {
      tensors.push({ name: output.name, role: output.role, shape, data: floats, classes: output.classes });
      continue;
    }
    const each = elementsOf(shape.slice(1));
    for (let j = 0; j < shape[0]; j++)
      tensors.push({
        name: output.name,
        role: output.role,
        shape: shape.slice(1),
        data: floats.subarray(j * each, (j + 1) * each),
        classes: null,
      });
  }
  const carried = run.carry.map((name) => ((values.get(name) as Tensor).data as Float32Array).slice());
  return { tensors, facts: run.facts, carried };
}
