/**
 * The input tensors of a recurrent layer model, from an inference request (request.ts): the batch (`input`: nested
 * or flat JSON, binary, or texts), the valid steps (`lengths` or `mask`) and the initial states. Measuring comes
 * first (shapes against the limits, allocating nothing that scales with the input), reading after, once the plan
 * has checked what the request costs. Every problem names the place the client wrote the value.
 */
import type { Limits } from '../config/config.js';
import { type Shape3, bidirectionalOf, float32Array, stateLayers } from '../engine/index.js';
import { invalidAt, limitExceeded } from '../errors/problem-error.js';
import { checkIntegers, readFloats, readIntegers } from '../codec/binary-tensors.js';
import { ProblemList, count, readMatrix, storeFloat32 } from '../codec/tensors.js';
import type { RequestTensor } from './request.js';
import {
  FLOAT_DATATYPES,
  INTEGER_DATATYPES,
  checkByteSize,
  checkDatatype,
  jsonValues,
  product,
  sentShape,
} from './request-tensors.js';
import { type Text, type TextBatch, oneHot, readTexts } from './text.js';
import type { ResolvedModel } from './model.js';

/** The batch as measured: its shape, each sequence's steps, and how to read its values once allowed. */
export interface InputLayout {
  readonly shape: Shape3;
  /** Steps of each sequence; all equal to `time` unless the batch is ragged. */
  readonly lengths: number[];
  readonly ragged: boolean;
  /** The texts' one-hot order; null for numbers. */
  readonly vocabulary: string[] | null;
  /** Where the input's size is named (MAX_INPUT_VALUES), and how its features are (the model's inputDim). */
  readonly sizeAt: string;
  readonly featuresAt: readonly [path: string, what: string];
  /** The values, [batch, time, features], zero-padded after each sequence's end. */
  read(problems: ProblemList): Float32Array;
}

/** A nested batch: non-empty, within the limits, every step with the same features. */
function nestedLayout(tensor: RequestTensor, inputs: readonly (readonly (readonly number[])[])[], limits: Limits) {
  const name = tensor.at.tensor;
  const batch = inputs.length;
  if (batch === 0) invalidAt(name, 'is empty; expected at least 1 sequence');
  if (batch > limits.maxBatch) throw limitExceeded(name, 'the batch size', batch, limits.maxBatch, 'MAX_BATCH');
  const lengths = inputs.map((sequence) => sequence.length);
  const empty = lengths.indexOf(0);
  if (empty >= 0) invalidAt(`${name}[${empty}]`, 'has no time steps; expected at least 1');
  const time = Math.max(...lengths);
  if (time > limits.maxTimeSteps) {
    const longest = lengths.indexOf(time);
    throw limitExceeded(`${name}[${longest}]`, 'the number of time steps', time, limits.maxTimeSteps, 'MAX_TIME_STEPS');
  }
  const features = inputs[0][0].length;
  if (features === 0) invalidAt(`${name}[0][0]`, 'has no features; expected at least 1');
  if (features > limits.maxFeatures)
    throw limitExceeded(`${name}[0][0]`, 'the number of features', features, limits.maxFeatures, 'MAX_FEATURES');
  const problems = new ProblemList();
  for (let b = 0; b < batch; b++) {
    const sequence = inputs[b];
    for (let t = 0; t < sequence.length; t++) {
      if (sequence[t].length === features) continue;
      if (!problems.listing) problems.countUnlisted();
      else
        problems.add(
          `${name}[${b}][${t}]`,
          `has ${count(sequence[t].length, 'feature')}; expected ${features} (${name}[0][0])`,
        );
    }
  }
  if (!problems.empty) throw problems.error();
  const shape: Shape3 = [batch, time, features];
  const layout: InputLayout = {
    shape,
    lengths,
    ragged: lengths.some((n) => n !== time),
    vocabulary: null,
    sizeAt: name,
    featuresAt: [`${name}[0][0]`, `has ${count(features, 'feature')}`],
    read: (found) => readNested(inputs, shape, name, found),
  };
  return layout;
}

/** Copies the (possibly ragged) batch into [batch, time, features], zero-padded on the right. */
function readNested(
  inputs: readonly (readonly (readonly number[])[])[],
  shape: Shape3,
  name: string,
  problems: ProblemList,
): Float32Array {
  const [batch, time, features] = shape;
  const out = float32Array(batch * time * features);
  // One closure for the whole batch (it reads b and t when a value is reported), not one per step.
  let b = 0;
  let t = 0;
  const path = (f: number) => `${name}[${b}][${t}][${f}]`;
  for (b = 0; b < batch; b++) {
    const sequence = inputs[b];
    for (t = 0; t < sequence.length; t++) storeFloat32(sequence[t], out, (b * time + t) * features, path, problems);
  }
  return out;
}

/** A batch with a sent shape: three non-zero dimensions within the limits, and (JSON) as many elements. */
function shapedLayout(tensor: RequestTensor, limits: Limits, model: ResolvedModel | null): InputLayout {
  const shape = sentShape(tensor);
  const { at } = tensor;
  if (shape.length !== 3) {
    const dims = model === null ? 'inputDim' : String(model.inputDim);
    invalidAt(at.shape, `has ${count(shape.length, 'dimension')}; expected 3 ([batch, time, ${dims}])`);
  }
  checkByteSize(tensor);
  const [batch, time, features] = shape;
  const names = ['batch', 'time', 'inputDim'];
  shape.forEach((n, i) => n === 0 && invalidAt(`${at.shape}[${i}]`, `is 0; ${names[i]} must be at least 1`));
  if (batch > limits.maxBatch)
    throw limitExceeded(`${at.shape}[0]`, 'the batch size', batch, limits.maxBatch, 'MAX_BATCH');
  if (time > limits.maxTimeSteps)
    throw limitExceeded(`${at.shape}[1]`, 'the number of time steps', time, limits.maxTimeSteps, 'MAX_TIME_STEPS');
  if (features > limits.maxFeatures)
    throw limitExceeded(`${at.shape}[2]`, 'the number of features', features, limits.maxFeatures, 'MAX_FEATURES');
  const { values } = tensor;
  if (values.kind === 'flat' && values.value.length !== batch * time * features)
    invalidAt(
      at.data,
      `has ${count(values.value.length, 'element')}; expected ${batch * time * features} (the product of ${at.shape} [${shape.join(', ')}])`,
    );
  const elements = batch * time * features;
  const ids = model?.embedding?.inputDim ?? null;
  const idsWhat = `a token id, an integer in [0, ${ids}) (the Embedding's input_dim)`;
  const integer = tensor.datatype !== null && INTEGER_DATATYPES.includes(tensor.datatype);
  return {
    shape: [batch, time, features],
    lengths: new Array<number>(batch).fill(time),
    ragged: false,
    vocabulary: null,
    sizeAt: at.shape,
    featuresAt: [`${at.shape}[2]`, `is ${features}`],
    read(problems) {
      if (values.kind === 'bytes') {
        return integer
          ? readIntegers(values.value, tensor.datatype as string, elements, ids as number, at.tensor, idsWhat)
          : readFloats(values.value, tensor.datatype ?? 'FP32', elements, at.tensor);
      }
      const data = values.kind === 'flat' ? values.value : jsonValues(tensor);
      if (integer) checkIntegers(data, ids as number, at.data, idsWhat);
      const out = float32Array(data.length);
      storeFloat32(data, out, 0, (i) => `${at.data}[${i}]`, problems);
      return out;
    },
  };
}

/** Texts: [batch, the longest text, vocabulary], ragged when their lengths differ. */
function textLayout(texts: readonly Text[], vocabulary: Text | undefined, limits: Limits): InputLayout {
  const batch: TextBatch = readTexts(texts, vocabulary, limits);
  const time = Math.max(...batch.lengths);
  const features = batch.vocabulary.length;
  const shape: Shape3 = [batch.lengths.length, time, features];
  return {
    shape,
    lengths: batch.lengths,
    ragged: batch.lengths.some((n) => n !== time),
    vocabulary: batch.vocabulary,
    sizeAt: 'text',
    featuresAt: ['vocabulary', `has ${count(features, 'token')}`],
    read: () => oneHot(batch, time, float32Array(shape[0] * time * features)),
  };
}

/**
 * The model's input, measured: texts, nested JSON (shape from the values), or a tensor with its shape (flat or
 * nested JSON, binary). `model` is known in advance for a served model (its datatypes and inputDim are checked
 * here); a described one is resolved after the measuring (its inputDim is the batch's).
 */
export function inputLayout(
  tensor: RequestTensor,
  limits: Limits,
  model: ResolvedModel | null,
  vocabulary: Text | undefined,
): InputLayout {
  const { values } = tensor;
  if (values.kind === 'text') return textLayout(values.value, vocabulary, limits);
  if (tensor.datatype !== null) {
    const ids = model?.embedding?.inputDim ?? null;
    const accepted = ids === null ? FLOAT_DATATYPES : [...FLOAT_DATATYPES, ...INTEGER_DATATYPES];
    checkDatatype(tensor, accepted, ids === null ? '' : `; token ids for INT32/INT64, in [0, ${ids})`);
  }
  if (values.kind === 'nested' && tensor.shape === null)
    return nestedLayout(tensor, values.value as number[][][], limits);
  return shapedLayout(tensor, limits, model);
}

/** The mask from `lengths`, `mask` or a ragged batch (at most one of them), or null when all steps are valid. */
export function readMask(
  lengths: RequestTensor | undefined,
  mask: RequestTensor | undefined,
  layout: InputLayout,
  input: RequestTensor,
): Uint8Array | null {
  const [batch, time] = layout.shape;
  // Sequence b of the input, in the terms the client sent it: nested, `inputs[b]`; a tensor with a shape, by number.
  const sequence = (b: number) =>
    input.shape === null ? `${input.at.tensor}[${b}]` : `sequence ${b} of ${input.at.tensor}`;
  if (lengths !== undefined && mask !== undefined)
    invalidAt(mask.at.tensor, `cannot be combined with ${lengths.at.tensor}; send one or the other`);
  const given = lengths ?? mask;
  if (layout.ragged && given !== undefined) {
    const b = layout.lengths.findIndex((n) => n !== time);
    const name = given.at.tensor;
    invalidAt(
      name,
      `cannot be combined with a ragged batch (${sequence(b)} has ${count(layout.lengths[b], 'time step')}, ${input.at.tensor} has up to ${time}): pad the sequences yourself, or drop ${name}`,
    );
  }
  const steps = lengths !== undefined ? readLengths(lengths) : layout.ragged ? layout.lengths : null;
  if (steps !== null) {
    const at = lengths?.at;
    if (steps.length !== batch)
      invalidAt(
        at?.tensor ?? 'lengths',
        `has ${count(steps.length, 'entry', 'entries')}; expected ${batch} (one per sequence in ${input.at.tensor})`,
      );
    const out = new Uint8Array(batch * time);
    steps.forEach((length, b) => {
      if (length > time)
        invalidAt(
          `${at?.data ?? 'lengths'}[${b}]`,
          `is ${length}, longer than the sequence (${sequence(b)} has ${count(time, 'time step')})`,
        );
      out.fill(1, b * time, b * time + length);
    });
    return out;
  }
  if (mask !== undefined) {
    const rows = mask.values.value as readonly (readonly boolean[])[];
    const name = mask.at.tensor;
    if (rows.length !== batch)
      invalidAt(name, `has ${count(rows.length, 'row')}; expected ${batch} (one per sequence in ${input.at.tensor})`);
    const out = new Uint8Array(batch * time);
    rows.forEach((row, b) => {
      if (row.length !== time)
        invalidAt(
          `${name}[${b}]`,
          `has ${count(row.length, 'entry', 'entries')}; expected ${time} (the time steps of ${sequence(b)})`,
        );
      row.forEach((valid, t) => (out[b * time + t] = valid ? 1 : 0));
    });
    return out;
  }
  return null;
}

/** `lengths` [batch]: JSON numbers (our routes, checked by the schema), or INT32/INT64 (sent with a datatype). */
function readLengths(tensor: RequestTensor): number[] {
  if (tensor.datatype === null) return tensor.values.value as number[];
  checkDatatype(tensor, INTEGER_DATATYPES, ': the valid steps of each sequence');
  const shape = sentShape(tensor);
  if (shape.length !== 1) invalidAt(tensor.at.shape, `has ${shape.length} dimensions; expected 1 ([batch])`);
  checkByteSize(tensor);
  const what = 'a number of time steps';
  if (tensor.values.kind === 'bytes')
    return Array.from(readIntegers(tensor.values.value, tensor.datatype, shape[0], 2 ** 31, tensor.at.tensor, what));
  const values = jsonValues(tensor);
  checkIntegers(values, 2 ** 31, tensor.at.data, what);
  return [...values];
}

const cellIndicesOf = new WeakMap<ResolvedModel, readonly number[]>();

/**
 * The state indices (layer by layer, each direction in turn) of the LSTM layers: those with a cell state. Made once
 * per model (served and remembered models are kept).
 */
export function cellStateIndices(model: ResolvedModel): readonly number[] {
  let indices = cellIndicesOf.get(model);
  if (indices === undefined) {
    const { spec } = model;
    const made: number[] = [];
    stateLayers(spec).forEach((k, i) => {
      if (spec.layers[k].cell === 'lstm') made.push(i);
    });
    indices = made;
    cellIndicesOf.set(model, indices);
  }
  return indices;
}

/**
 * Initial states: one tensor holding them all as our routes send it (one [batch, hiddenSize], a list of them, or
 * PyTorch's [entries, batch, hiddenSize]), or one tensor per state, [batch, hiddenSize] each. `indices`: the
 * state indices they are for (every state for h; the LSTM layers' for c). One per entry of `indices`.
 */
export function readStates(
  given: readonly RequestTensor[],
  cell: boolean,
  model: ResolvedModel,
  indices: readonly number[],
  batch: number,
): Float32Array[] {
  if (given.length === 1 && given[0].datatype === null) return readStateList(given[0], cell, model, indices, batch);
  const layerOf = stateLayers(model.spec);
  const problems = new ProblemList();
  const states = given.map((tensor, j) => {
    const hidden = model.spec.layers[layerOf[indices[j]]].hiddenSize;
    checkDatatype(tensor, FLOAT_DATATYPES, '');
    const shape = sentShape(tensor);
    if (shape.length !== 2)
      invalidAt(tensor.at.shape, `has ${shape.length} dimensions; expected 2 ([batch, hiddenSize])`);
    checkByteSize(tensor);
    if (shape[0] !== batch || shape[1] !== hidden)
      invalidAt(
        tensor.at.shape,
        `is [${shape.join(', ')}]; input '${tensor.name}' is [batch, hiddenSize] = [${batch}, ${hidden}] (the batch size, and the hiddenSize of layer ${layerOf[indices[j]]})`,
      );
    if (tensor.values.kind === 'bytes')
      return readFloats(tensor.values.value, tensor.datatype ?? 'FP32', batch * hidden, tensor.at.tensor);
    const out = new Float32Array(batch * hidden);
    storeFloat32(jsonValues(tensor), out, 0, (i) => `${tensor.at.data}[${i}]`, problems);
    return out;
  });
  if (!problems.empty) throw problems.error();
  return states;
}

/** Our routes' `initialState` / `initialCellState`: the states in one JSON value, in any of its three forms. */
function readStateList(
  tensor: RequestTensor,
  cell: boolean,
  model: ResolvedModel,
  indices: readonly number[],
  batch: number,
): Float32Array[] {
  const given = tensor.values.value as number[][] | number[][][];
  const name = tensor.at.tensor;
  const { spec } = model;
  const layerOf = indices.map((i) => stateLayers(spec)[i]);
  const entries = layerOf.length;
  const all = stateLayers(spec).length === entries;
  const single = entries === 1;
  // A single [batch, hidden] matrix has numbers at depth 2; a list of them has arrays there.
  const isList = given.some((row) => row.some((item) => Array.isArray(item)));
  // A list for a single layer is PyTorch's h0 [1, batch, hiddenSize] (h0 has the leading axis at every depth).
  const asList = isList && single;
  const h0 = cell ? 'c0' : 'h0';
  const what = all ? 'layers × directions' : 'lstm layers × directions';
  if (!single && !isList) {
    invalidAt(
      name,
      `is one state, but the model has ${entries} (${what}): send a list of ${entries} [batch, hiddenSize] states`,
    );
  }
  const list = (single && !asList ? [given] : given) as number[][][];
  if (list.length !== entries)
    invalidAt(
      name,
      `has ${count(list.length, 'state')}; expected ${entries} (${entries === 1 ? `the one ${all ? '' : 'lstm '}layer: [batch, hiddenSize], or PyTorch ${h0} [1, batch, hiddenSize]` : all ? `layer 0 forward${bidirectionalOf(spec, 0) !== null ? ', layer 0 backward' : ''}, ...` : `the lstm layers' states in state order: layers ${[...new Set(layerOf)].join(', ')}`})`,
    );
  const problems = new ProblemList();
  const states = list.map((state, i) => {
    const path = single && !asList ? name : `${name}[${i}]`;
    const h = spec.layers[layerOf[i]].hiddenSize;
    if (state.length !== batch)
      invalidAt(path, `has ${count(state.length, 'row')}; expected ${batch} (the batch size)`);
    return readMatrix(state, h, path, `hiddenSize of layer ${layerOf[i]}`, problems);
  });
  if (!problems.empty) throw problems.error();
  return states;
}

/** Elements of a tensor as the plan counts them (the shape sent, or the batch measured). */
export const elementsOf = (layout: InputLayout): number => product(layout.shape);
