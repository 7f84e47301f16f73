/**
 * The Open Inference Protocol (KServe v2) view of an ONNX model: its inputs and outputs are the graph's, with
 * the graph's names, datatypes (FP32; INT64 or INT32 for token ids and sequence lengths) and shapes (-1 for a
 * dynamic axis). An infer request names every graph input; the answer holds every graph output, or the requested
 * ones. In order, before anything that scales with the request is allocated:
 *   1. names, datatypes (a FLOAT input also takes FP64 and FP16, rounded to float32; an integer input takes INT64
 *      and INT32), ranks and fixed dimensions against the graph's declaration, binary sizes against shapes;
 *   2. MAX_INPUT_VALUES over all inputs;
 *   3. the plan (program.ts): every tensor's shape, then MAX_BATCH and MAX_TIME_STEPS for each RNN node,
 *      MAX_COMPUTE for the multiply-adds of the whole graph and MAX_OUTPUT_VALUES for the answered outputs (a
 *      ranked output, `parameters.classification`, also CLASS_ENTRY_VALUES per class entry);
 *   4. JSON data: every value against float32 (FP32) or the integers (INT64/INT32), all problems in one 400;
 * then binary data is read, the graph runs, and the answer is written. Planning and checking are on the event loop
 * (cheap, and a refusal is quick); the run is where the compute runner puts it (src/runtime/pool.ts): inline for a
 * small graph, else on a worker, which runs the same runOnnxGraph on a program of its own (decoded from `source`).
 */
import type { OnnxGraphSummary } from '../../../schemas/forward.js';
import type { TensorMetadata } from '../../../schemas/models.js';
import type { OipInferenceRequest } from '../../../schemas/oip.js';
import type { Limits } from '../../config/config.js';
import { ProblemError, invalidAt, limitExceeded, truncated } from '../../errors/problem-error.js';
import { readFloats } from '../../codec/binary-tensors.js';
import { ProblemList, storeFloat32 } from '../../codec/tensors.js';
import { CLASS_ENTRY_VALUES } from '../../inference/classes.js';
import {
  type GivenInput,
  type OipAnswer,
  type OipOutput,
  type OipTensor,
  checkByteSize,
  checkDatatype,
  flag,
  givenInputs,
  jsonValues,
  writeOipAnswer,
} from '../inference-protocol.js';
import {
  type GraphTensor,
  NodeShapeError,
  type OnnxProgram,
  type ProgramPlan,
  planProgram,
  runProgram,
} from './program.js';
import { classificationCount, onnxClassifiers } from './classifier.js';
import { type Tensor, type TensorMeta, elementsOf, formatShape } from './tensor.js';

export const ONNX_PLATFORM = 'rnn-serve_onnx';

const FLOATS = ['FP32', 'FP64', 'FP16'];
const INTEGERS = ['INT64', 'INT32'];

export interface OnnxModel {
  readonly name: string;
  readonly version: string;
  readonly program: OnnxProgram;
  /** Class labels of its classifier outputs (labels.txt); absent or null: none, `score:index` answers. */
  readonly labels?: readonly string[] | null;
}

export const onnxInputs = (program: OnnxProgram): OipTensor[] =>
  program.inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape: [...shape] }));

export const onnxOutputs = (program: OnnxProgram): OipTensor[] =>
  program.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape: [...shape] }));

/**
 * The model's parameters in its protocol metadata; with classifier outputs, `classification` names them (what
 * `parameters.classification` applies to) and `labels` is labels.txt as a JSON array of strings.
 */
export function onnxParameters(model: Pick<OnnxModel, 'program' | 'labels'>): Record<string, string> {
  const { opset, producer, operators } = onnxGraphSummary(model.program);
  const classifiers = onnxClassifiers(model.program).map(
    (c) => `'${c.output}': ${c.classes} classes (${c.operator} over its last axis)`,
  );
  return {
    format: 'onnx',
    opset: String(opset),
    ...(producer === '' ? {} : { producer }),
    operators: operators.join(', '),
    input_datatypes: 'FP32 inputs also take FP64 and FP16 (rounded to float32); INT64 inputs also take INT32',
    ...(classifiers.length === 0 ? {} : { classification: classifiers.join('; ') }),
    ...(model.labels ? { labels: JSON.stringify(model.labels) } : {}),
  };
}

/** The graph's inputs or outputs as GET /models/{name} lists them. */
export function onnxTensorMetadata(tensors: readonly GraphTensor[], what: 'input' | 'output'): TensorMetadata[] {
  return tensors.map(({ name, datatype, shape }) => ({
    name,
    shape: [...shape],
    datatype,
    description: `graph ${what}, ${datatype} ${formatShape(shape)} (-1: dynamic axis)`,
  }));
}

export function onnxGraphSummary(program: OnnxProgram): OnnxGraphSummary {
  return {
    opset: program.graph.opset,
    producer: program.graph.producer,
    nodes: program.nodes.length,
    operators: [...new Set(program.nodes.map(({ node }) => node.opType))].sort(),
  };
}

/**
 * The outputs to answer: all (default) or the requested ones, each known and named once; `classification: K` (the
 * classification extension) on a classifier output (classifier.ts) answers its top K per row as BYTES.
 */
function requestedOutputs(program: OnnxProgram, request: OipInferenceRequest): OipOutput[] {
  const known = program.outputs.map((o) => o.name);
  const allBinary = flag(request.parameters, 'binary_data_output', '$') ?? false;
  if (request.outputs === undefined) return known.map((name) => ({ name, binary: allBinary, classification: null }));
  const seen = new Map<string, number>();
  return request.outputs.map(({ name, parameters }, i) => {
    if (!known.includes(name))
      invalidAt(
        `outputs[${i}].name`,
        `is '${truncated(name)}'; the model's outputs are ${known.map((k) => `'${k}'`).join(', ')}`,
      );
    const first = seen.get(name);
    if (first !== undefined)
      invalidAt(
        `outputs[${i}].name`,
        `'${name}' is requested again (also outputs[${first}]); each output may be named once`,
      );
    seen.set(name, i);
    const k = parameters?.classification;
    const at = `outputs[${i}].parameters.classification`;
    return {
      name,
      binary: flag(parameters, 'binary_data', `outputs[${i}]`) ?? allBinary,
      classification: k === undefined ? null : classificationCount(program, name, k, at),
    };
  });
}

/** Checks one given input against the graph's declaration of it (datatype, rank, fixed dimensions, bytes). */
function checkInput(input: GivenInput, declared: GraphTensor): void {
  const integer = declared.datatype !== 'FP32';
  checkDatatype(input, integer ? INTEGERS : FLOATS, '');
  const fits =
    input.shape.length === declared.shape.length && declared.shape.every((d, i) => d === -1 || d === input.shape[i]);
  if (!fits)
    invalidAt(
      `${input.path}.shape`,
      `is ${formatShape(input.shape)}; input '${declared.name}' is ${formatShape(declared.shape)} (-1: any size)`,
    );
  checkByteSize(input);
}

/** A binary integer input's values, exact up to 2^53 (token ids, lengths). */
function readIntegers(input: GivenInput, bytes: Uint8Array): Float64Array {
  const count = elementsOf(input.shape);
  const out = new Float64Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const value = input.datatype === 'INT32' ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true));
    if (!Number.isSafeInteger(value))
      invalidAt(`${input.path}[${i}]`, `is ${value}; beyond 2^53, which this server does not read`);
    out[i] = value;
  }
  return out;
}

/** A binary input as the graph's tensor; read by `run`, once the limits have passed. */
function readBinaryTensor(input: GivenInput, bytes: Uint8Array, declared: GraphTensor): Tensor {
  if (declared.datatype !== 'FP32') return { type: 'int', shape: input.shape, data: readIntegers(input, bytes) };
  const data = readFloats(bytes, input.datatype, elementsOf(input.shape), input.path);
  return { type: 'float', shape: input.shape, data };
}

/**
 * A JSON input as the graph's tensor, each value that does not fit (beyond float32, or not an integer for an
 * integer input) added to `problems` at `inputs[i].data[j]`, as the /models path reads its JSON (storeFloat32).
 */
function readJsonTensor(input: GivenInput, declared: GraphTensor, problems: ProblemList): Tensor {
  const values = jsonValues(input);
  const at = (j: number) => `${input.path}.data[${j}]`;
  if (declared.datatype === 'FP32') {
    const data = new Float32Array(values.length);
    storeFloat32(values, data, 0, at, problems);
    return { type: 'float', shape: input.shape, data };
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
          : `is ${value}; expected an integer (input '${input.name}' is ${input.datatype})`,
      );
  }
  return { type: 'int', shape: input.shape, data };
}

/**
 * A problem found while planning or running: the request's shapes or values do not fit the graph. Named at the
 * request's tensor when that tensor feeds the node at fault directly (token ids into Gather, sequence_lens into
 * RNN), else at `inputs`.
 */
function asProblem(error: unknown, paths: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof NodeShapeError)) return error;
  const input = error.input === null ? undefined : paths.get(error.input);
  const path = input === undefined ? 'inputs' : `${input}.data`;
  return ProblemError.at('invalid-request', [{ path, message: `${error.label}: ${error.message}` }]);
}

/**
 * What an output costs the answer against MAX_OUTPUT_VALUES: its values, and with `classification` also
 * CLASS_ENTRY_VALUES per class entry (the output is computed whole before it is ranked; the forward route answers
 * both).
 */
function answeredValues(program: OnnxProgram, plan: ProgramPlan, output: OipOutput, i: number): number {
  const { shape } = plan.metas.get(output.name) as TensorMeta;
  const values = elementsOf(shape);
  if (output.classification === null) return values;
  // The labels are indexed by the declared class count: a graph whose computed shape disagrees is not ranked.
  const classes = shape[shape.length - 1];
  const declared = program.outputs.find((o) => o.name === output.name)?.shape.at(-1);
  if (classes !== declared)
    invalidAt(
      `outputs[${i}].parameters.classification`,
      `'${output.name}' has ${classes} values per row for this request; the graph declares ${declared} classes`,
    );
  return values + (values / classes) * output.classification * CLASS_ENTRY_VALUES;
}

/** A float32 tensor of the answer. */
export interface AnsweredTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What a run takes besides the program and its plan; plain data, so that it can cross to a worker. */
export interface OnnxRunInputs {
  /** The graph's inputs, by name. */
  readonly inputs: ReadonlyMap<string, Tensor>;
  /** The outputs to answer, in order. */
  readonly outputs: readonly string[];
  /** Each input's place in the request (`inputs[1]`): a problem found while running is named there. */
  readonly paths: ReadonlyMap<string, string>;
}

/**
 * Runs a planned program: the requested outputs by name. Throws a ProblemError for what only the values show (a
 * sequence length beyond the time steps, a non-finite output). The one run of inline and worker inferences alike.
 */
export function runOnnxGraph(
  program: OnnxProgram,
  plan: ProgramPlan,
  { inputs, outputs, paths }: OnnxRunInputs,
): Map<string, AnsweredTensor> {
  let values: Map<string, Tensor>;
  try {
    values = runProgram(program, plan, inputs);
  } catch (error) {
    throw asProblem(error, paths);
  }
  const answered = new Map<string, AnsweredTensor>();
  for (const name of outputs) {
    const tensor = values.get(name) as Tensor;
    const data = tensor.data as Float32Array;
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad !== -1)
      throw ProblemError.at('non-finite-result', [
        { path: `outputs`, message: `output '${name}' has ${data[bad]} at element ${bad}; JSON cannot carry it` },
      ]);
    answered.set(name, { shape: tensor.shape, data });
  }
  return answered;
}

export interface OnnxInference {
  readonly plan: ProgramPlan;
  /** The requested outputs, in order. */
  readonly outputs: readonly OipOutput[];
  /** Bytes the run holds: the inputs, and every tensor the plan creates. */
  readonly bytes: number;
  /** [batch, time] of the largest RNN node, for the metrics. */
  readonly shape: readonly [number, number];
  /** Reads the binary inputs (JSON ones were read by the plan): what the run takes, here or on a worker. Once. */
  runInputs(): OnnxRunInputs;
  /** Runs the graph here (runInputs, then runOnnxGraph): the requested outputs by name. */
  run(): Map<string, AnsweredTensor>;
  /**
   * A problem of the run, found here or on a worker, in the terms of the request as its route received it (the
   * protocol's as they are; forward.ts renames paths to its body's).
   */
  inTerms(error: unknown): unknown;
}

/** The protocol's answer to an inference's outputs. */
export function onnxAnswer(
  model: OnnxModel,
  request: OipInferenceRequest,
  inference: OnnxInference,
  tensors: ReadonlyMap<string, AnsweredTensor>,
): OipAnswer {
  return writeOipAnswer(model, request, inference.outputs, tensors);
}

/**
 * An infer request (and its binary data) for an ONNX model → the checked, planned inference, ready to run.
 * Throws a ProblemError (400) for anything that does not fit the graph or the limits.
 */
export function planOnnxInference(
  model: OnnxModel,
  request: OipInferenceRequest,
  binary: Uint8Array | null,
  limits: Limits,
): OnnxInference {
  const { program } = model;
  const given = givenInputs(request, binary);
  const byName = new Map<string, GivenInput>();
  const paths = new Map<string, string>();
  const names = program.inputs.map((i) => `'${i.name}'`).join(', ');
  for (const input of given) {
    if (!program.inputs.some((i) => i.name === input.name))
      invalidAt(`${input.path}.name`, `is '${truncated(input.name)}'; the model's inputs are ${names}`);
    const first = byName.get(input.name);
    if (first !== undefined)
      invalidAt(
        `${input.path}.name`,
        `'${truncated(input.name)}' is given again (also ${first.path}); send each input once`,
      );
    byName.set(input.name, input);
    paths.set(input.name, input.path);
  }
  const missing = program.inputs.filter((i) => !byName.has(i.name));
  if (missing.length > 0)
    invalidAt(
      'inputs',
      `has no tensor named ${missing.map((i) => `'${i.name}'`).join(', ')} (the model's inputs are ${names})`,
    );
  let inputValues = 0;
  for (const declared of program.inputs) {
    const input = byName.get(declared.name) as GivenInput;
    checkInput(input, declared);
    inputValues += elementsOf(input.shape);
  }
  if (inputValues > limits.maxInputValues)
    throw limitExceeded('inputs', 'the elements of all inputs', inputValues, limits.maxInputValues, 'MAX_INPUT_VALUES');
  const outputs = requestedOutputs(program, request);

  const metas = new Map<string, TensorMeta>(
    program.inputs.map((d) => [
      d.name,
      { type: d.datatype === 'FP32' ? 'float' : 'int', shape: (byName.get(d.name) as GivenInput).shape },
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
  const outputValues = outputs.reduce((n, o, i) => n + answeredValues(program, plan, o, i), 0);
  if (outputValues > limits.maxOutputValues)
    throw limitExceeded(
      'outputs',
      'the values of the answered outputs',
      outputValues,
      limits.maxOutputValues,
      'MAX_OUTPUT_VALUES',
    );

  // JSON data is already parsed and held; its typed copy (at most MAX_INPUT_VALUES × 8 bytes, checked above) is made
  // here so that its problems are a 400 before memory is reserved for the run or the run is timed, as the /models
  // path refuses them in its plan. Binary data is read by `runInputs`.
  const problems = new ProblemList();
  const json = new Map<string, Tensor>();
  for (const declared of program.inputs) {
    const input = byName.get(declared.name) as GivenInput;
    if (input.bytes === null) json.set(declared.name, readJsonTensor(input, declared, problems));
  }
  if (!problems.empty) throw problems.error();

  const runInputs = (): OnnxRunInputs => ({
    inputs: new Map(
      program.inputs.map((d) => {
        const input = byName.get(d.name) as GivenInput;
        return [d.name, json.get(d.name) ?? readBinaryTensor(input, input.bytes as Uint8Array, d)];
      }),
    ),
    outputs: outputs.map((o) => o.name),
    paths,
  });
  return {
    plan,
    outputs,
    bytes: plan.bytes + inputValues * 8,
    shape: [plan.batch, plan.timeSteps],
    runInputs,
    run: () => runOnnxGraph(program, plan, runInputs()),
    inTerms: (error) => error,
  };
}
