/**
 * POST /rnn/forward, between the validated JSON and the engine: checks what the schema cannot (shapes that
 * must agree, configured limits, float32 range, contradictions), turns the request into typed arrays, runs
 * the network and shapes the answer. Every rejection names the JSON path of the offending value.
 */
import { DEFAULT_STATE_LAYOUT, type ForwardRequest } from '../../schemas/forward.js';
import type { Limits } from '../config/config.js';
import {
  bidirectionalOf,
  cellOf,
  computeCost,
  denseForward,
  gateCount,
  embeddingLookup,
  float32Array,
  layerDirections,
  maskFromValue,
  type NetworkResult,
  returnsBothDirections,
  runNetwork,
  type Shape3,
  stateLayers,
} from '../engine/index.js';
import { endsInSoftmax, modelOutputFeatures, modelSummary, type ResolvedModel, resolveModel } from './model.js';
import { ProblemError, invalidAt, limitExceeded } from '../errors/problem-error.js';
import { JsonWriter, type PreparedText, prepareText } from '../codec/json-writer.js';
import {
  BYTES_PER_VALUE,
  type JsonAnswer,
  type JsonPart,
  STREAM_MIN_BYTES,
  type StreamedJson,
} from '../codec/json-stream.js';
import { ProblemList, count, readMatrix, storeFloat32 } from '../codec/tensors.js';
import { oneHot, readTexts, type TextBatch } from './text.js';
import { type SeededWeightsCache, seededWeightsCost } from './weights-cache.js';
import { CLASS_ENTRY_VALUES, type ClassesPlan, topClasses, writeClasses } from './classes.js';
import { writeStateList } from './state-list.js';

/**
 * How the answer is written: JSON with nested or flat `{shape, data}` tensors, or `binary`: the raw float32
 * values (platform byte order) of the outputs, then of each state when returnState, back to back, for a route
 * that writes its own answer around them (the Open Inference Protocol's routes).
 */
export type OutputFormat = 'nested' | 'flat' | 'binary';

/**
 * An input tensor already in numbers (the Open Inference Protocol's binary tensors), instead of `inputs` in the
 * JSON request: its shape, checked against the limits first, and `read`, called only once the shape has passed
 * them, for the values (row-major, as many as the shape's product).
 */
export interface TypedInputs {
  readonly shape: number[];
  readonly read: () => Float32Array;
}

export interface ForwardPlan {
  readonly inputs: Float32Array;
  readonly shape: Shape3;
  readonly outputFormat: OutputFormat;
  /** The one-hot order of `text`; null for numeric `inputs`. */
  readonly vocabulary: string[] | null;
  readonly model: ResolvedModel;
  /** [batch, time], 1 = valid; null when every step is valid. */
  readonly mask: Uint8Array | null;
  readonly initialStates: Float32Array[] | null;
  /** LSTM layers' c_0, indexed as the states (null for the entries of other layers); null for zeros. */
  readonly initialCellStates: (Float32Array | null)[] | null;
  readonly zeroOutputForMask: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  /** `keras`: one [batch, hiddenSize] per layer and direction; `pytorch`: one [layers·directions, batch, hiddenSize]. */
  readonly stateLayout: StateLayout;
  /** `topK`: the classes to rank in each output row; null without it. */
  readonly classes: ClassesPlan | null;
}

export type StateLayout = 'keras' | 'pytorch';

interface InputLayout {
  readonly shape: Shape3;
  /** Steps of each sequence; all equal to `time` unless the batch is ragged. */
  readonly lengths: number[];
  readonly ragged: boolean;
}

/** Checks `inputs` is a non-empty batch within the limits, every step with the same features. */
function inputLayout(inputs: number[][][], limits: Limits, name: 'inputs' | 'text'): InputLayout {
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
  if (features === 0) invalidAt('inputs[0][0]', 'has no features; expected at least 1');
  if (features > limits.maxFeatures)
    throw limitExceeded('inputs[0][0]', 'the number of features', features, limits.maxFeatures, 'MAX_FEATURES');
  const problems = new ProblemList();
  for (let b = 0; b < batch; b++) {
    const sequence = inputs[b];
    for (let t = 0; t < sequence.length; t++) {
      if (sequence[t].length === features) continue;
      if (!problems.listing) problems.countUnlisted();
      else
        problems.add(
          `inputs[${b}][${t}]`,
          `has ${count(sequence[t].length, 'feature')}; expected ${features} (inputs[0][0])`,
        );
    }
  }
  if (!problems.empty) throw problems.error();
  return { shape: [batch, time, features], lengths, ragged: lengths.some((n) => n !== time) };
}

/** Copies the (possibly ragged) batch into [batch, time, features], zero-padded on the right. */
function readInputs(inputs: number[][][], shape: Shape3, problems: ProblemList): Float32Array {
  const [batch, time, features] = shape;
  const out = float32Array(batch * time * features);
  // One closure for the whole batch (it reads b and t when a value is reported), not one per step.
  let b = 0;
  let t = 0;
  const path = (f: number) => `inputs[${b}][${t}][${f}]`;
  for (b = 0; b < batch; b++) {
    const sequence = inputs[b];
    for (t = 0; t < sequence.length; t++) storeFloat32(sequence[t], out, (b * time + t) * features, path, problems);
  }
  return out;
}

/** The mask from `lengths`, `mask` or a ragged batch (at most one of them), or null when all steps are valid. */
function readMask(request: ForwardRequest, layout: InputLayout): Uint8Array | null {
  const [batch, time] = layout.shape;
  if (request.lengths !== undefined && request.mask !== undefined)
    invalidAt('mask', 'cannot be combined with lengths; send one or the other');
  const given = request.lengths !== undefined ? 'lengths' : request.mask !== undefined ? 'mask' : null;
  if (layout.ragged && given !== null) {
    const b = layout.lengths.findIndex((n) => n !== time);
    invalidAt(
      given,
      `cannot be combined with a ragged batch (inputs[${b}] has ${count(layout.lengths[b], 'time step')}, inputs has up to ${time}): pad the sequences yourself, or drop ${given}`,
    );
  }
  const lengths = request.lengths ?? (layout.ragged ? layout.lengths : null);
  if (lengths !== null) {
    if (lengths.length !== batch)
      invalidAt(
        'lengths',
        `has ${count(lengths.length, 'entry', 'entries')}; expected ${batch} (one per sequence in inputs)`,
      );
    const mask = new Uint8Array(batch * time);
    lengths.forEach((length, b) => {
      if (length > time)
        invalidAt(
          `lengths[${b}]`,
          `is ${length}, longer than the sequence (inputs[${b}] has ${count(time, 'time step')})`,
        );
      mask.fill(1, b * time, b * time + length);
    });
    return mask;
  }
  if (request.mask !== undefined) {
    const rows = request.mask;
    if (rows.length !== batch)
      invalidAt('mask', `has ${count(rows.length, 'row')}; expected ${batch} (one per sequence in inputs)`);
    const mask = new Uint8Array(batch * time);
    rows.forEach((row, b) => {
      if (row.length !== time)
        invalidAt(
          `mask[${b}]`,
          `has ${count(row.length, 'entry', 'entries')}; expected ${time} (the time steps of inputs[${b}])`,
        );
      row.forEach((valid, t) => (mask[b * time + t] = valid ? 1 : 0));
    });
    return mask;
  }
  return null;
}

/** The state indices (layer by layer, each direction in turn) of the LSTM layers: those with a cell state. */
export function cellStateIndices(model: ResolvedModel): number[] {
  const { spec } = model;
  return stateLayers(spec).flatMap((k, i) => (spec.layers[k].cell === 'lstm' ? [i] : []));
}

/** `initialCellState` → c_0 of each LSTM layer and direction, indexed as the states (null elsewhere). */
function readInitialCellStates(
  request: ForwardRequest,
  model: ResolvedModel,
  batch: number,
): (Float32Array | null)[] | null {
  if (request.initialCellState === undefined) return null;
  const indices = cellStateIndices(model);
  if (indices.length === 0)
    invalidAt(
      'initialCellState',
      'applies to lstm layers only, and the model has none: set cell to lstm, or drop initialCellState',
    );
  const given = readStates(request.initialCellState, 'initialCellState', model, indices, batch);
  const all: (Float32Array | null)[] = stateLayers(model.spec).map(() => null);
  indices.forEach((i, j) => (all[i] = given[j]));
  return all;
}

/** `initialState` → one [batch, hiddenSize] per layer and direction, in state order. */
function readInitialStates(request: ForwardRequest, model: ResolvedModel, batch: number): Float32Array[] | null {
  const given = request.initialState;
  if (given === undefined) return null;
  return readStates(
    given,
    'initialState',
    model,
    stateLayers(model.spec).map((_, i) => i),
    batch,
  );
}

/**
 * Initial states as sent (one [batch, hiddenSize], or a list, or PyTorch's [entries, batch, hiddenSize]) → one per
 * entry of `indices` (state indices: every state for h, the LSTM layers' for c).
 */
function readStates(
  given: number[][] | number[][][],
  name: 'initialState' | 'initialCellState',
  model: ResolvedModel,
  indices: number[],
  batch: number,
): Float32Array[] {
  const { spec } = model;
  const layerOf = indices.map((i) => stateLayers(spec)[i]);
  const entries = layerOf.length;
  const all = stateLayers(spec).length === entries;
  const single = entries === 1;
  // A single [batch, hidden] matrix has numbers at depth 2; a list of them has arrays there.
  const isList = given.some((row) => row.some((item) => Array.isArray(item)));
  // A list for a single layer is PyTorch's h0 [1, batch, hiddenSize] (h0 has the leading axis at every depth).
  const asList = isList && single;
  const h0 = name === 'initialState' ? 'h0' : 'c0';
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

type Batch =
  | { readonly kind: 'nested'; readonly inputs: number[][][] }
  | { readonly kind: 'flat'; readonly shape: number[]; readonly data: number[] }
  | { readonly kind: 'typed'; readonly shape: number[]; readonly read: () => Float32Array }
  | { readonly kind: 'text'; readonly text: TextBatch };

/** The numeric batch: `inputs` as sent (nested or flat), or the one-hot encoding of `text`. */
function batchOf(request: ForwardRequest, limits: Limits): Batch {
  if (request.inputs !== undefined && request.text !== undefined)
    invalidAt('text', 'cannot be combined with inputs; send one or the other');
  if (request.vocabulary !== undefined && request.text === undefined)
    invalidAt('vocabulary', 'only applies to text; send text, or drop vocabulary');
  if (request.inputs !== undefined) {
    return Array.isArray(request.inputs)
      ? { kind: 'nested', inputs: request.inputs }
      : { kind: 'flat', shape: request.inputs.shape, data: request.inputs.data };
  }
  if (request.text === undefined) invalidAt('inputs', 'is required (or text)');
  return { kind: 'text', text: readTexts(request.text, request.vocabulary, limits) };
}

/** Texts measured by readTexts: [batch, the longest text, vocabulary], ragged when their lengths differ. */
function textLayout({ lengths, vocabulary }: TextBatch): InputLayout {
  const time = Math.max(...lengths);
  return { shape: [lengths.length, time, vocabulary.length], lengths, ragged: lengths.some((n) => n !== time) };
}

/** What a request costs, from its shapes alone: checked against the limits before any work that scales with it. */
export interface RequestCost {
  /** batch · time · features of the input tensor. */
  readonly inputValues: number;
  /** Multiply-adds of building seeded weights (0 for explicit or served weights): 6 · hiddenSize³ per cell. */
  readonly weightsBuild: number;
  /** Multiply-adds of the pass. */
  readonly compute: number;
  /** Values in the answer: outputs plus states, plus CLASS_ENTRY_VALUES per class entry with `topK`. */
  readonly outputValues: number;
}

/** Values per step of the answer's `outputs`: the last layer's features (both directions with mergeMode null). */
function outputsPerStep(model: ResolvedModel): number {
  const { spec } = model;
  const last = spec.layers[spec.layers.length - 1];
  const bothDirections = returnsBothDirections(spec);
  return bothDirections && (model.head ?? []).length === 0 ? 2 * last.hiddenSize : modelOutputFeatures(model);
}

export function requestCost(
  model: ResolvedModel,
  shape: Shape3,
  options: { returnSequences: boolean; returnState: boolean; served: boolean; topK?: number },
): RequestCost {
  const [batch, time, features] = shape;
  const { spec } = model;
  // An LSTM layer's final c comes with its h.
  const stateValues = stateLayers(spec).reduce(
    (sum, k) => sum + (spec.layers[k].cell === 'lstm' ? 2 : 1) * batch * spec.layers[k].hiddenSize,
    0,
  );
  return {
    inputValues: batch * time * features,
    weightsBuild: model.seed !== null && !options.served ? seededWeightsCost(spec) : 0,
    compute: computeCost(spec, shape),
    outputValues:
      batch *
        (options.returnSequences ? time : 1) *
        (outputsPerStep(model) + CLASS_ENTRY_VALUES * (options.topK ?? 0)) +
      (options.returnState ? stateValues : 0),
  };
}

/** Where a request's input tensor is named in errors. */
function inputsPath(batch: Batch): string {
  return batch.kind === 'text' ? 'text' : batch.kind === 'nested' ? 'inputs' : 'inputs.shape';
}

/** A flat `{shape, data}` batch: three non-zero dimensions within the limits, and as many elements. */
function flatLayout(shape: number[], elements: number, limits: Limits): InputLayout {
  if (shape.length !== 3)
    invalidAt('inputs.shape', `has ${count(shape.length, 'dimension')}; expected 3 ([batch, time, inputDim])`);
  const [batch, time, features] = shape;
  const names = ['batch', 'time', 'inputDim'];
  shape.forEach((n, i) => n === 0 && invalidAt(`inputs.shape[${i}]`, `is 0; ${names[i]} must be at least 1`));
  if (batch > limits.maxBatch)
    throw limitExceeded('inputs.shape[0]', 'the batch size', batch, limits.maxBatch, 'MAX_BATCH');
  if (time > limits.maxTimeSteps)
    throw limitExceeded('inputs.shape[1]', 'the number of time steps', time, limits.maxTimeSteps, 'MAX_TIME_STEPS');
  if (features > limits.maxFeatures)
    throw limitExceeded('inputs.shape[2]', 'the number of features', features, limits.maxFeatures, 'MAX_FEATURES');
  if (elements !== batch * time * features) {
    invalidAt(
      'inputs.data',
      `has ${count(elements, 'element')}; expected ${batch * time * features} (the product of inputs.shape [${shape.join(', ')}])`,
    );
  }
  return { shape: [batch, time, features], lengths: new Array<number>(batch).fill(time), ragged: false };
}

/** Typed inputs, read once the limits have passed; a reader that breaks its promise of the shape is a bug. */
function readTyped(read: () => Float32Array, elements: number): Float32Array {
  const inputs = read();
  if (inputs.length !== elements) throw new Error(`typed inputs: ${inputs.length} values for ${elements} elements`);
  return inputs;
}

function readFlat(data: number[], problems: ProblemList): Float32Array {
  const out = float32Array(data.length);
  storeFloat32(data, out, 0, (i) => `inputs.data[${i}]`, problems);
  return out;
}

/** What a caller other than the JSON routes may give planForward instead of request fields. */
export interface PlanOptions {
  /** The input tensor in numbers; the request then has no `inputs` or `text`. */
  readonly typed?: TypedInputs;
  /** Overrides the request's outputFormat (only here can it be `binary`). */
  readonly outputFormat?: OutputFormat;
  /** A served model's class labels (labels.txt), one per output feature; `classes` then names them. */
  readonly labels?: readonly string[] | null;
  /**
   * Where the client gave `topK`, as problems name it: `topK` (the default) on our forward routes, the ranked
   * output's `outputs[i].parameters.classification` for the Open Inference Protocol's classification extension.
   */
  readonly topKPath?: string;
}

/**
 * `topK` → what to rank: K within the outputs' features, on one sequence of outputs (not mergeMode null's two),
 * and for a served model only when its last layer is softmax (its outputs are then class probabilities).
 */
function readClasses(
  request: ForwardRequest,
  model: ResolvedModel,
  served: boolean,
  labels: readonly string[] | null,
  path: string,
): ClassesPlan | null {
  const k = request.topK;
  if (k === undefined) return null;
  if (served && !endsInSoftmax(model))
    invalidAt(
      path,
      "applies to classifiers: the model's last layer is not softmax (its outputs are not class probabilities)",
    );
  if ((model.head ?? []).length === 0 && returnsBothDirections(model.spec))
    invalidAt(path, `cannot rank two sequences (bidirectional.mergeMode is null): set a merge mode, or drop ${path}`);
  const features = modelOutputFeatures(model);
  if (k > features) invalidAt(path, `is ${k}; the outputs have ${count(features, 'feature')} (classes)`);
  return { k, labels };
}

/** `stateLayout: pytorch` needs one hidden size throughout, as PyTorch's h_n has (nn.RNN's layers all have it). */
function readStateLayout(request: ForwardRequest, model: ResolvedModel): StateLayout {
  const layout = request.stateLayout ?? DEFAULT_STATE_LAYOUT;
  if (layout === 'pytorch') {
    const { spec } = model;
    const sizes = spec.layers.map((layer) => layer.hiddenSize);
    const other = sizes.findIndex((h) => h !== sizes[0]);
    if (other >= 0)
      invalidAt(
        'stateLayout',
        `is pytorch, one [layers·directions, batch, hiddenSize] tensor, but layer ${other} has ${sizes[other]} units and layer 0 ${sizes[0]}: use keras (a list of states)`,
      );
    // An imported stack may wrap some layers in Bidirectional and not others; nn.RNN wraps all or none.
    const mixed = spec.layers.findIndex((_, k) => layerDirections(spec, k) !== layerDirections(spec, 0));
    if (mixed >= 0)
      invalidAt(
        'stateLayout',
        `is pytorch, but layer ${mixed} has ${count(layerDirections(spec, mixed), 'direction')} and layer 0 ${count(layerDirections(spec, 0), 'direction')}: use keras (a list of states)`,
      );
  }
  return layout;
}

/**
 * Checks and converts a request into a plan. `served`: a model resolved once, in advance (a model of the
 * repository); the request's model description fields are then not read, and the inputs must have its inputDim.
 */
export function planForward(
  request: ForwardRequest,
  limits: Limits,
  cache: SeededWeightsCache,
  served?: ResolvedModel,
  options: PlanOptions = {},
): ForwardPlan {
  const { typed } = options;
  if (typed !== undefined && (request.inputs !== undefined || request.text !== undefined))
    invalidAt('inputs', 'is given twice (as JSON and as numbers); send one');
  const batch: Batch =
    typed !== undefined ? { kind: 'typed', shape: typed.shape, read: typed.read } : batchOf(request, limits);
  const layout =
    batch.kind === 'flat'
      ? flatLayout(batch.shape, batch.data.length, limits)
      : batch.kind === 'typed'
        ? flatLayout(
            batch.shape,
            batch.shape.reduce((a, b) => a * b, 1),
            limits,
          )
        : batch.kind === 'text'
          ? textLayout(batch.text)
          : inputLayout(batch.inputs, limits, 'inputs');
  const { shape } = layout;
  if (served !== undefined && shape[2] !== served.inputDim) {
    const [path, what] =
      batch.kind === 'flat' || batch.kind === 'typed'
        ? ['inputs.shape[2]', `is ${shape[2]}`]
        : batch.kind === 'nested'
          ? ['inputs[0][0]', `has ${count(shape[2], 'feature')}`]
          : ['vocabulary', `has ${count(shape[2], 'token')}`];
    invalidAt(path, `${what}; the model takes ${served.inputDim} (inputDim)`);
  }
  const [b, time, inputDim] = shape;
  if (b * time * inputDim > limits.maxInputValues) {
    const what = `the input values batch·time·${batch.kind === 'text' ? 'vocabulary' : 'features'} = ${b}·${time}·${inputDim}`;
    throw limitExceeded(inputsPath(batch), what, b * time * inputDim, limits.maxInputValues, 'MAX_INPUT_VALUES');
  }
  const model = served ?? resolveModel(request, inputDim, limits, cache);
  const returnSequences = request.returnSequences ?? true;
  const returnState = request.returnState ?? true;
  const topKPath = options.topKPath ?? 'topK';
  const classes = readClasses(request, model, served !== undefined, options.labels ?? null, topKPath);
  const stateLayout = readStateLayout(request, model);
  const cost = requestCost(model, shape, {
    returnSequences,
    returnState,
    served: served !== undefined,
    topK: classes?.k ?? 0,
  });
  if (cost.weightsBuild + cost.compute > limits.maxCompute) {
    const { hiddenSize } = model.spec.layers[0];
    const single = stateLayers(model.spec).length === 1;
    const gated = model.spec.layers.some((layer) => cellOf(layer) !== 'simpleRNN');
    const g = gated ? 'G·' : '';
    const gates = gated ? ' (G gates: 1 simpleRNN, 4 lstm, 3 gru)' : '';
    const gSingle = gated ? `${gateCount(cellOf(model.spec.layers[0]))}·` : '';
    const pass = single
      ? `batch·time·(inputDim + hiddenSize)·${g}hiddenSize = ${b}·${time}·(${inputDim} + ${hiddenSize})·${gSingle}${hiddenSize}`
      : `Σ over layers and directions of batch·time·(inputDim + hiddenSize)·${g}hiddenSize${gates}`;
    const build =
      cost.weightsBuild === 0
        ? ''
        : `, plus ${cost.weightsBuild} to build the seeded weights (6·${g}hiddenSize³ per layer and direction)`;
    throw limitExceeded(
      '$',
      `the compute cost ${pass}${build}`,
      cost.weightsBuild + cost.compute,
      limits.maxCompute,
      'MAX_COMPUTE',
    );
  }
  if (cost.outputValues > limits.maxOutputValues) {
    const what = `the answer's values (outputs${returnState ? ' and states' : ''}${classes === null ? '' : `, ${CLASS_ENTRY_VALUES} per class entry of ${topKPath}`}; returnSequences ${returnSequences})`;
    throw limitExceeded('$', what, cost.outputValues, limits.maxOutputValues, 'MAX_OUTPUT_VALUES');
  }
  const mask = readMask(request, layout);
  const initialStates = readInitialStates(request, model, shape[0]);
  const initialCellStates = readInitialCellStates(request, model, shape[0]);
  const problems = new ProblemList();
  const inputs =
    batch.kind === 'flat'
      ? readFlat(batch.data, problems)
      : batch.kind === 'typed'
        ? readTyped(batch.read, b * time * inputDim)
        : batch.kind === 'text'
          ? oneHot(batch.text, time, float32Array(b * time * inputDim))
          : readInputs(batch.inputs, shape, problems);
  if (!problems.empty) throw problems.error();
  return {
    inputs,
    shape,
    vocabulary: batch.kind === 'text' ? batch.text.vocabulary : null,
    outputFormat: options.outputFormat ?? request.outputFormat ?? 'nested',
    model,
    mask,
    initialStates,
    initialCellStates,
    zeroOutputForMask: request.zeroOutputForMask ?? false,
    returnSequences,
    returnState,
    stateLayout,
    classes,
  };
}

/**
 * An imported model's Embedding: ids [batch, time, 1] → [batch, time, outputDim], and with `maskZero` the
 * mask of id 0. A bad id is a 400 naming its position.
 */
function embedded(plan: ForwardPlan): { inputs: Float32Array; shape: Shape3; mask: Uint8Array | null } {
  const embedding = plan.model.embedding ?? null;
  if (embedding === null) return { inputs: plan.inputs, shape: plan.shape, mask: plan.mask };
  const [batch, time] = plan.shape;
  const ids = plan.inputs;
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= embedding.inputDim) {
      invalidAt(
        `inputs[${Math.floor(i / time)}][${i % time}][0]`,
        `is ${ids[i]}; expected an id, an integer in [0, ${embedding.inputDim}) (the Embedding's input_dim)`,
      );
    }
  }
  let mask = plan.mask;
  if (embedding.maskZero) {
    mask = new Uint8Array(batch * time);
    for (let i = 0; i < mask.length; i++) mask[i] = ids[i] !== 0 && (plan.mask === null || plan.mask[i] === 1) ? 1 : 0;
  }
  return { inputs: embeddingLookup(ids, embedding), shape: [batch, time, embedding.outputDim], mask };
}

/** The mask and, for an imported model with Keras Masking, the steps whose features all equal its value. */
function maskOf(model: ResolvedModel, inputs: Float32Array, shape: Shape3, mask: Uint8Array | null): Uint8Array | null {
  const maskValue = model.maskValue ?? null;
  if (maskValue === null) return mask;
  const [batch, time, features] = shape;
  const masked = maskFromValue(inputs, batch, time, features, maskValue);
  if (mask !== null) for (let i = 0; i < masked.length; i++) masked[i] &= mask[i];
  return masked;
}

export function computeForward(plan: ForwardPlan): NetworkResult {
  const { model } = plan;
  const input = embedded(plan);
  const result = runNetwork(input.inputs, input.shape, model.spec, model.weights, {
    initialStates: plan.initialStates,
    initialCellStates: plan.initialCellStates,
    mask: maskOf(model, input.inputs, input.shape, input.mask),
    zeroOutputForMask: plan.zeroOutputForMask,
    returnSequences: plan.returnSequences,
  });
  // An imported model's Dense layers act on the last axis (Keras Dense on 3-d inputs, TimeDistributed(Dense)).
  if (model.head === undefined || model.head.length === 0) return result;
  let { outputs, outputShape } = result;
  for (const layer of model.head) {
    const rows = outputs.length / layer.inputDim;
    outputs = denseForward(outputs, rows, layer);
    outputShape = [...outputShape.slice(0, -1), layer.units];
  }
  return { ...result, outputs, outputShape };
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

/** [batch, hiddenSize] of state i (states go layer by layer, each direction in turn). */
function stateShape(plan: ForwardPlan, i: number): number[] {
  const { spec } = plan.model;
  return [plan.shape[0], spec.layers[stateLayers(spec)[i]].hiddenSize];
}

/** Rejects a result JSON cannot carry: 422 naming the first non-finite position. */
function checkFinite(plan: ForwardPlan, result: NetworkResult): void {
  const cells = cellStatesOf(plan, result);
  if (allFinite(result.outputs) && result.states.every(allFinite) && cells.every(allFinite)) return;
  const indices = cellStateIndices(plan.model);
  const nonFinite =
    firstNonFinite(result.outputs, result.outputShape, 'outputs') ??
    result.states
      .map((s, i) => firstNonFinite(s, stateShape(plan, i), result.states.length === 1 ? 'states' : `states[${i}]`))
      .find((x) => x !== null) ??
    cells
      .map((c, j) =>
        firstNonFinite(c, stateShape(plan, indices[j]), cells.length === 1 ? 'cellStates' : `cellStates[${j}]`),
      )
      .find((x) => x !== null) ??
    null;
  if (nonFinite !== null) {
    throw ProblemError.at('non-finite-result', [
      {
        path: nonFinite.split(' ')[0],
        message: `${nonFinite.slice(nonFinite.indexOf(' ') + 1)}: the result overflows float32 (an unbounded activation with large weights or inputs), which JSON cannot carry`,
      },
    ]);
  }
}

function writeTensor(
  writer: JsonWriter,
  format: 'nested' | 'flat',
  data: Float32Array,
  shape: readonly number[],
): void {
  if (format === 'flat') writer.flat(data, shape);
  else writer.nested(data, shape);
}

/** The `model` field of each model's answers, made once per model (models are kept: model.ts, the repository). */
const summaries = new WeakMap<ResolvedModel, PreparedText>();

function modelSummaryText(model: ResolvedModel): PreparedText {
  let text = summaries.get(model);
  if (text === undefined) {
    text = prepareText(JSON.stringify(modelSummary(model)));
    summaries.set(model, text);
  }
  return text;
}

/**
 * The final cell states the answer carries: those of the LSTM layers, in state order (a mixed stack's other
 * layers have none, and are skipped), and only with returnState.
 */
function cellStatesOf(plan: ForwardPlan, result: NetworkResult): Float32Array[] {
  if (!plan.returnState) return [];
  return result.cellStates.filter((c): c is Float32Array => c !== null);
}

/** A tensor of the answer: its float32 values and shape. */
interface AnswerTensor {
  readonly data: Float32Array;
  readonly shape: number[];
}

/**
 * The final states' shapes as the answer writes them: `keras`, each layer and direction's [batch, hiddenSize] (a
 * list unless there is one: writeStateList); `pytorch`, one [layers·directions, batch, hiddenSize] tensor, as
 * `h_n` (readStateLayout made sure the sizes agree). The nested JSON of the two is the same past one state; the
 * flat JSON and shapes differ.
 */
function answerStateShapes(plan: ForwardPlan, count: number, indices?: readonly number[]): number[][] {
  const at = (j: number) => stateShape(plan, indices === undefined ? j : indices[j]);
  if (plan.stateLayout === 'pytorch') return [[count, ...at(0)]];
  return Array.from({ length: count }, (_, j) => at(j));
}

/**
 * The final states as the answer writes them (answerStateShapes): h_n is the states one after the other. `cell`:
 * the LSTM layers' cell states instead (c_n), shaped alike.
 */
function answerStates(plan: ForwardPlan, result: NetworkResult, cell = false): AnswerTensor[] {
  const states = cell ? cellStatesOf(plan, result) : result.states;
  const shapes = answerStateShapes(plan, states.length, cell ? cellStateIndices(plan.model) : undefined);
  if (plan.stateLayout === 'pytorch') return [{ data: concatenated(states), shape: shapes[0] }];
  return states.map((data, i) => ({ data, shape: shapes[i] }));
}

/** `classes` with topK: the top K of each row of the outputs (the last axis), null without topK. */
function writeClassesOf(writer: JsonWriter, plan: ForwardPlan, result: NetworkResult): void {
  if (plan.classes === null) return;
  const { outputShape, outputs } = result;
  const features = outputShape[outputShape.length - 1];
  const top = topClasses(outputs, outputs.length / features, features, plan.classes.k);
  writer.raw(',"classes":');
  writeClasses(writer, top, outputShape.slice(0, -1), plan.classes.labels);
}

/**
 * The classes, vocabulary, shapes and model summary: what follows the tensors, written the same way whole or
 * streamed.
 */
function writeTail(writer: JsonWriter, plan: ForwardPlan, result: NetworkResult): void {
  writeClassesOf(writer, plan, result);
  if (plan.vocabulary !== null) writer.raw(`,"vocabulary":${JSON.stringify(plan.vocabulary)}`);
  writer.raw(',"shapes":{"inputs":').ints(plan.shape).raw(',"outputs":').ints(result.outputShape);
  if (plan.returnState) {
    const writeShapes = (name: string, count: number, indices?: readonly number[]) =>
      writeStateList(
        name,
        answerStateShapes(plan, count, indices),
        (text) => writer.raw(text),
        (shape) => writer.ints(shape),
      );
    writeShapes('states', result.states.length);
    const indices = cellStateIndices(plan.model);
    if (indices.length > 0) writeShapes('cellStates', indices.length, indices);
  }
  if (plan.classes !== null) writer.raw(',"classes":').ints([...result.outputShape.slice(0, -1), plan.classes.k]);
  writer.raw('},"model":').prepared(modelSummaryText(plan.model)).raw('}');
}

/**
 * The parts of an answer to stream: what `writeResponse` writes whole, with the tensors left as typed arrays
 * for the chunked writer. test/codec/json-stream.test.ts holds the two equal, byte for byte.
 */
function responseParts(plan: ForwardPlan, result: NetworkResult, format: 'nested' | 'flat'): StreamedJson {
  const parts: JsonPart[] = ['{"outputs":', { data: result.outputs, shape: result.outputShape, format }];
  const push = (name: string, cell: boolean) =>
    writeStateList(
      name,
      answerStates(plan, result, cell),
      (text) => parts.push(text),
      (tensor) => parts.push({ ...tensor, format }),
    );
  if (plan.returnState) push('states', false);
  if (cellStatesOf(plan, result).length > 0) push('cellStates', true);
  const tail = new JsonWriter();
  writeTail(tail, plan, result);
  parts.push(tail.text());
  return { streamed: parts };
}

/**
 * The response body, written straight from the typed arrays in the order of the ForwardResponse schema:
 * the tensors by the JSON writer (nested or flat), then the classes, shapes and the model summary. An answer
 * expected to reach `streamFrom` bytes (STREAM_MIN_BYTES) comes back as parts, written in chunks as it is sent.
 * Values JSON cannot carry are rejected first, either way, before any byte is sent.
 */
export function writeResponse(plan: ForwardPlan, result: NetworkResult, streamFrom = STREAM_MIN_BYTES): JsonAnswer {
  checkFinite(plan, result);
  const format = plan.outputFormat;
  if (format === 'binary') return binaryResponse(plan, result);
  const { states } = result;
  const cells = cellStatesOf(plan, result);
  let values = result.outputs.length;
  if (plan.returnState) for (const state of [...states, ...cells]) values += state.length;
  // topK's class entries are counted as requestCost counts them, so that a large ranking streams too.
  if (plan.classes !== null) {
    const features = result.outputShape[result.outputShape.length - 1];
    values += (result.outputs.length / features) * plan.classes.k * CLASS_ENTRY_VALUES;
  }
  if (values * BYTES_PER_VALUE >= streamFrom) return responseParts(plan, result, format);
  const writer = new JsonWriter(64 + result.outputs.length * 12);
  writer.raw('{"outputs":');
  writeTensor(writer, format, result.outputs, result.outputShape);
  const write = (name: string, cell: boolean) =>
    writeStateList(
      name,
      answerStates(plan, result, cell),
      (text) => writer.raw(text),
      (tensor) => writeTensor(writer, format, tensor.data, tensor.shape),
    );
  if (plan.returnState) write('states', false);
  if (cells.length > 0) write('cellStates', true);
  writeTail(writer, plan, result);
  return writer.body();
}

/**
 * The `binary` answer: the outputs' float32 values, then each state's when returnState, then each LSTM layer's
 * cell state, in one buffer of their own (so a worker can transfer it). The caller knows the shapes from the plan.
 */
function binaryResponse(plan: ForwardPlan, result: NetworkResult): Uint8Array {
  const parts = [result.outputs, ...(plan.returnState ? result.states : []), ...cellStatesOf(plan, result)];
  return new Uint8Array(concatenated(parts).buffer);
}

/** The arrays one after the other, in a buffer of their own (not the slab: the binary answer is transferred). */
function concatenated(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Plan → compute → the response body (whole, or parts to stream): what the route sends (inline or on a worker). */
export function forwardBody(plan: ForwardPlan): JsonAnswer {
  return writeResponse(plan, computeForward(plan));
}
