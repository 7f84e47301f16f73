/**
 * Our forward routes' answer (POST /rnn/forward, POST /models/{name}/forward: the ForwardResponse schema) from a
 * result (inference/request.ts): `outputs` (the main output), `states` and `cellStates` (the final states, listed
 * as state-list.ts says), `classes` with `topK`, `vocabulary` for texts, `shapes`, and `model` (a layer model's
 * summary) or `model: null` and `graph` (an ONNX graph's). Tensors are written straight from the float32 values
 * (json-writer.ts), nested or flat. An answer expected to reach STREAM_MIN_BYTES comes back as parts, written in
 * chunks as it is sent; values JSON cannot carry are refused first, either way, before any byte is sent.
 *
 * Streaming restates the whole-answer writer: test/codec/json-stream.test.ts holds the two equal, byte for byte.
 */
import { JsonWriter } from '../codec/json-writer.js';
import {
  BYTES_PER_VALUE,
  type JsonAnswer,
  type JsonPart,
  STREAM_MIN_BYTES,
  type StreamedJson,
} from '../codec/json-stream.js';
import { ProblemError } from '../errors/problem-error.js';
import { CLASS_ENTRY_VALUES, topClasses, writeClasses } from '../inference/classes.js';
import type { InferenceResult, ResultTensor } from '../inference/request.js';
import { writeStateList } from '../inference/state-list.js';

export type TensorFormat = 'nested' | 'flat';

/** The answer's tensors by their place in it. */
interface Placed {
  readonly output: ResultTensor;
  readonly states: readonly ResultTensor[];
  readonly cellStates: readonly ResultTensor[];
}

function placed(result: InferenceResult): Placed {
  let output: ResultTensor | undefined;
  const states: ResultTensor[] = [];
  const cellStates: ResultTensor[] = [];
  for (const tensor of result.tensors) {
    if (tensor.role === 'output') output = tensor;
    else if (tensor.role === 'state') states.push(tensor);
    else if (tensor.role === 'cell-state') cellStates.push(tensor);
  }
  if (output === undefined) throw new Error('a forward answer without its output');
  return { output, states, cellStates };
}

/** The position of the first non-finite value of `data` (row-major, `shape`), as `name[i][j]...`, or null. */
function firstNonFinite(data: Float32Array, shape: readonly number[], name: string): string | null {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      let rest = i;
      const index = shape.map((_, axis) => {
        const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
        const at = Math.floor(rest / stride);
        rest -= at * stride;
        return at;
      });
      return `${name}${index.map((n) => `[${n}]`).join('')} is ${data[i]}`;
    }
  }
  return null;
}

const allFinite = (data: Float32Array): boolean => {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
};

/** Rejects a result JSON cannot carry: 422 naming the first non-finite position, in the answer's own terms. */
function checkFinite({ output, states, cellStates }: Placed): void {
  if (allFinite(output.data) && states.every((s) => allFinite(s.data)) && cellStates.every((c) => allFinite(c.data)))
    return;
  const listed = (tensors: readonly ResultTensor[], name: string) =>
    tensors
      .map((t, i) => firstNonFinite(t.data, t.shape, tensors.length === 1 ? name : `${name}[${i}]`))
      .find((x) => x !== null) ?? null;
  const nonFinite =
    firstNonFinite(output.data, output.shape, 'outputs') ??
    listed(states, 'states') ??
    listed(cellStates, 'cellStates');
  if (nonFinite === null) return;
  throw ProblemError.at('non-finite-result', [
    {
      path: nonFinite.split(' ')[0],
      message: `${nonFinite.slice(nonFinite.indexOf(' ') + 1)}: the result overflows float32 (an unbounded activation with large weights or inputs), which JSON cannot carry`,
    },
  ]);
}

function writeTensor(writer: JsonWriter, format: TensorFormat, tensor: ResultTensor): void {
  if (format === 'flat') writer.flat(tensor.data, tensor.shape);
  else writer.nested(tensor.data, tensor.shape);
}

/** The rows the output's classes rank: its shape without the last axis. */
const leadOf = (output: ResultTensor) => output.shape.slice(0, -1);

/**
 * The classes, vocabulary, shapes and model summary: what follows the tensors, written the same way whole or
 * streamed.
 */
function writeTail(writer: JsonWriter, result: InferenceResult, { output, states, cellStates }: Placed): void {
  const { facts } = result;
  if (output.classes !== null) {
    const features = output.shape[output.shape.length - 1];
    const top = topClasses(output.data, output.data.length / features, features, output.classes);
    writer.raw(',"classes":');
    writeClasses(writer, top, leadOf(output), facts.labels);
  }
  if (facts.vocabulary !== null) writer.raw(`,"vocabulary":${JSON.stringify(facts.vocabulary)}`);
  writer.raw(',"shapes":{"inputs":').ints(facts.inputShape).raw(',"outputs":').ints(output.shape);
  const raw = (text: string) => writer.raw(text);
  const shape = (t: ResultTensor) => writer.ints(t.shape);
  if (states.length > 0) writeStateList('states', states, raw, shape);
  if (cellStates.length > 0) writeStateList('cellStates', cellStates, raw, shape);
  if (output.classes !== null) writer.raw(',"classes":').ints([...leadOf(output), output.classes]);
  writer.raw('},"model":');
  if (facts.summary !== null) writer.prepared(facts.summary);
  else writer.raw('null');
  if (facts.graph !== null) writer.raw(`,"graph":${facts.graph}`);
  writer.raw('}');
}

/** The parts of an answer to stream: what `writeForwardAnswer` writes whole, its tensors left as typed arrays. */
function answerParts(result: InferenceResult, place: Placed, format: TensorFormat): StreamedJson {
  const parts: JsonPart[] = ['{"outputs":', { data: place.output.data, shape: place.output.shape, format }];
  const push = (name: string, tensors: readonly ResultTensor[]) =>
    writeStateList(
      name,
      tensors,
      (text) => parts.push(text),
      (t) => parts.push({ data: t.data, shape: t.shape, format }),
    );
  if (place.states.length > 0) push('states', place.states);
  if (place.cellStates.length > 0) push('cellStates', place.cellStates);
  const tail = new JsonWriter();
  writeTail(tail, result, place);
  parts.push(tail.text());
  return { streamed: parts };
}

/**
 * The answer, written in the order of the ForwardResponse schema; as parts to stream when it is expected to reach
 * `streamFrom` bytes.
 */
export function writeForwardAnswer(
  result: InferenceResult,
  format: TensorFormat,
  streamFrom = STREAM_MIN_BYTES,
): JsonAnswer {
  const place = placed(result);
  checkFinite(place);
  const { output, states, cellStates } = place;
  let values = output.data.length;
  for (const state of states) values += state.data.length;
  for (const cell of cellStates) values += cell.data.length;
  // topK's class entries are counted as the plan counts them, so that a large ranking streams too.
  if (output.classes !== null) {
    const features = output.shape[output.shape.length - 1];
    values += (output.data.length / features) * output.classes * CLASS_ENTRY_VALUES;
  }
  if (values * BYTES_PER_VALUE >= streamFrom) return answerParts(result, place, format);
  const writer = new JsonWriter(64 + output.data.length * 12);
  writer.raw('{"outputs":');
  writeTensor(writer, format, output);
  const raw = (text: string) => writer.raw(text);
  const tensor = (t: ResultTensor) => writeTensor(writer, format, t);
  if (states.length > 0) writeStateList('states', states, raw, tensor);
  if (cellStates.length > 0) writeStateList('cellStates', cellStates, raw, tensor);
  writeTail(writer, result, place);
  return writer.body();
}
