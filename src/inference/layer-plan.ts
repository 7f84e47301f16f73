/**
 * A recurrent layer model's plan for one inference request (request.ts): checks what the schema cannot (shapes
 * that must agree with each other and with the model, the configured limits, float32 range, contradictions), works
 * out the cost from the shapes before anything scales with the input, then reads the tensors into typed arrays.
 * The model is one of the repository (resolved at start-up) or one the request describes (resolved here, and
 * remembered: model.ts). Every rejection names the place the client wrote the value.
 */
import { DEFAULT_STATE_LAYOUT } from '../../schemas/forward.js';
import type { Limits } from '../config/config.js';
import {
  cellOf,
  computeCost,
  gateCount,
  layerDirections,
  returnsBothDirections,
  type Shape3,
  stateLayers,
} from '../engine/index.js';
import { invalidAt, limitExceeded, truncated } from '../errors/problem-error.js';
import { ProblemList, count } from '../codec/tensors.js';
import {
  endsInSoftmax,
  modelOutputFeatures,
  type ModelDescription,
  type ResolvedModel,
  resolveModel,
} from './model.js';
import { type SeededWeightsCache, seededWeightsCost } from './weights-cache.js';
import { CLASS_ENTRY_VALUES } from './classes.js';
import type { InferenceRequest, RequestTensor, RequestedOutput } from './request.js';
import { cellStateIndices, inputLayout, readMask, readStates } from './layer-inputs.js';
import { layerInputNames, layerOutputNames } from './layer-names.js';

export type StateLayout = 'keras' | 'pytorch';

/** A served layer model, as the plan needs it: the model resolved at start-up and what its files give. */
export interface ServedLayers {
  readonly name: string;
  readonly version: string;
  /** The file it came from, relative to the repository (NAME/VERSION/model.json). */
  readonly file: string;
  readonly model: ResolvedModel;
  /** The one-hot order of texts, or null when it takes only numbers. */
  readonly vocabulary: string[] | null;
  /** A softmax classifier's class labels, one per output feature; null: none. */
  readonly labels: readonly string[] | null;
}

/** An output of the answer: the main output, or final state i (h, or an LSTM layer's c), and whether it is ranked. */
export interface PlannedOutput {
  readonly name: string;
  readonly kind: 'output' | 'state' | 'cell-state';
  /** Its state index (layer by layer, each direction in turn); -1 for the output. */
  readonly state: number;
  /** K, when its top K classes are answered; else null. */
  readonly classes: number | null;
}

export interface LayerPlan {
  /** Multiply-adds of the pass, and of building seeded weights not built yet. */
  readonly cost: number;
  /** Values of the input tensor and of the answer, as requestCost counts them (for the memory estimate). */
  readonly values: { readonly input: number; readonly output: number };
  readonly inputs: Float32Array;
  readonly shape: Shape3;
  /** The one-hot order of `text`; null for numeric inputs. */
  readonly vocabulary: string[] | null;
  readonly model: ResolvedModel;
  /** Whether the model is one of the repository's (its weights and panels are held by it, not by the request). */
  readonly served: boolean;
  /** The served model's name and version; null for a described one. */
  readonly servedAs: { readonly name: string; readonly version: string } | null;
  /** [batch, time], 1 = valid; null when every step is valid. */
  readonly mask: Uint8Array | null;
  readonly initialStates: Float32Array[] | null;
  /** LSTM layers' c_0, indexed as the states (null for the entries of other layers); null for zeros. */
  readonly initialCellStates: (Float32Array | null)[] | null;
  readonly zeroOutputForMask: boolean;
  readonly returnSequences: boolean;
  /** Whether any final state is answered. */
  readonly returnState: boolean;
  /** `keras`: one [batch, hiddenSize] per layer and direction; `pytorch`: one [layers·directions, batch, hiddenSize]. */
  readonly stateLayout: StateLayout;
  /** What the answer holds, in order. */
  readonly outputs: readonly PlannedOutput[];
  /** A served classifier's labels; null: none. */
  readonly labels: readonly string[] | null;
  /** One chunk of a stateful sequence: the pass hands back its final states (layer-run.ts `carriedState`). */
  readonly carry: boolean;
}

/**
 * A sequence chunk's plan: `carried`, the state the sequence's previous chunk left (its slots, carriedSlots' order),
 * or null for the first chunk (zeros, or the request's initial states).
 */
export interface SequenceStep {
  readonly carried: readonly Float32Array[] | null;
  /** How the request named its sequence, for messages (`sequence 42`). */
  readonly named: string;
}

/**
 * The state a sequence carries from chunk to chunk: each layer and direction's h ([hiddenSize] for the one row of a
 * sequence), in state order, then each LSTM layer's c likewise. A bidirectional layer cannot carry one: its backward
 * direction reads the sequence from its end, which a chunk does not have.
 */
export function carriedSlots(served: ServedLayers, at: string): number[] {
  const { spec } = served.model;
  const wrapped = spec.layers.findIndex((_, k) => layerDirections(spec, k) === 2);
  if (wrapped >= 0)
    invalidAt(
      at,
      `model '${served.name}' version ${served.version} cannot carry a sequence's state from chunk to chunk: layer ${wrapped} is bidirectional, and its backward direction reads each sequence from its end, which a chunk does not have; send each sequence whole, without sequence_id`,
    );
  const layerOf = stateLayers(spec);
  const sizes = layerOf.map((k) => spec.layers[k].hiddenSize);
  return [...sizes, ...cellStateIndices(served.model).map((i) => sizes[i])];
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

/** Values per step of the answer's main output: the last layer's features (both directions with mergeMode null). */
function outputsPerStep(model: ResolvedModel): number {
  const { spec } = model;
  const last = spec.layers[spec.layers.length - 1];
  return returnsBothDirections(spec) && (model.head ?? []).length === 0
    ? 2 * last.hiddenSize
    : modelOutputFeatures(model);
}

/** The values of state i of the model ([batch, hiddenSize]), h or c. */
const stateValues = (model: ResolvedModel, batch: number, i: number) =>
  batch * model.spec.layers[stateLayers(model.spec)[i]].hiddenSize;

export function requestCost(
  model: ResolvedModel,
  shape: Shape3,
  options: { returnSequences: boolean; served: boolean; outputs: readonly PlannedOutput[] },
): RequestCost {
  const [batch, time, features] = shape;
  let outputValues = 0;
  for (const output of options.outputs) {
    if (output.kind !== 'output') outputValues += stateValues(model, batch, output.state);
    else
      outputValues +=
        batch *
        (options.returnSequences ? time : 1) *
        (outputsPerStep(model) + CLASS_ENTRY_VALUES * (output.classes ?? 0));
  }
  return {
    inputValues: batch * time * features,
    weightsBuild: model.seed !== null && !options.served ? seededWeightsCost(model.spec) : 0,
    compute: computeCost(model.spec, shape),
    outputValues,
  };
}

/** `stateLayout: pytorch` needs one hidden size throughout, as PyTorch's h_n has (nn.RNN's layers all have it). */
function readStateLayout(request: InferenceRequest, model: ResolvedModel): StateLayout {
  const layout = request.options.stateLayout ?? DEFAULT_STATE_LAYOUT;
  if (layout === 'pytorch') {
    const at = request.optionsAt.stateLayout;
    const { spec } = model;
    const sizes = spec.layers.map((layer) => layer.hiddenSize);
    const other = sizes.findIndex((h) => h !== sizes[0]);
    if (other >= 0)
      invalidAt(
        at,
        `is pytorch, one [layers·directions, batch, hiddenSize] tensor, but layer ${other} has ${sizes[other]} units and layer 0 ${sizes[0]}: use keras (a list of states)`,
      );
    // An imported stack may wrap some layers in Bidirectional and not others; nn.RNN wraps all or none.
    const mixed = spec.layers.findIndex((_, k) => layerDirections(spec, k) !== layerDirections(spec, 0));
    if (mixed >= 0)
      invalidAt(
        at,
        `is pytorch, but layer ${mixed} has ${count(layerDirections(spec, mixed), 'direction')} and layer 0 ${count(layerDirections(spec, 0), 'direction')}: use keras (a list of states)`,
      );
  }
  return layout;
}

/**
 * K of a ranked output: within the outputs' features, on one sequence of outputs (not mergeMode null's two), and
 * for a served model only when its last layer is softmax (its outputs are then class probabilities).
 */
function readClasses(k: number, at: string, model: ResolvedModel, served: boolean, named: string | null): number {
  if (served && !endsInSoftmax(model))
    invalidAt(
      at,
      "applies to classifiers: the model's last layer is not softmax (its outputs are not class probabilities)",
    );
  if ((model.head ?? []).length === 0 && returnsBothDirections(model.spec))
    invalidAt(at, `cannot rank two sequences (bidirectional.mergeMode is null): set a merge mode, or drop ${at}`);
  const features = modelOutputFeatures(model);
  const which = named === null ? 'the outputs have' : `'${named}' has`;
  if (k > features) invalidAt(at, `is ${k}; ${which} ${count(features, 'feature')} (classes)`);
  return k;
}

const viewsOf = new WeakMap<ResolvedModel, Map<string, readonly PlannedOutput[]>>();

/**
 * The outputs to answer: the forward view (the output, then every state unless returnState is false, the
 * LSTM layers' cell states after them), every output (`all`), or the ones named, each known and named once.
 * A list longer than the model's outputs necessarily repeats one, so the loop stops by entry `known.length` at
 * the latest: its work is bounded by the model, not by the request.
 */
/** The output, then every state unless `withStates` is false, the LSTM layers' cell states after them. */
function outputsOf(model: ResolvedModel, withStates: boolean, k: number | null): PlannedOutput[] {
  const names = layerOutputNames(model);
  const planned: PlannedOutput[] = [{ name: names.output, kind: 'output', state: -1, classes: k }];
  if (!withStates) return planned;
  const count = stateLayers(model.spec).length;
  for (let i = 0; i < count; i++) planned.push({ name: names.states[i], kind: 'state', state: i, classes: null });
  cellStateIndices(model).forEach((i, j) =>
    planned.push({ name: names.cellStates[j], kind: 'cell-state', state: i, classes: null }),
  );
  return planned;
}

function plannedOutputs(request: InferenceRequest, model: ResolvedModel, served: boolean): readonly PlannedOutput[] {
  const { outputs, options } = request;
  if (outputs === 'all') return outputsOf(model, true, null);
  if (outputs === 'view') {
    const k =
      options.topK === undefined ? null : readClasses(options.topK, request.optionsAt.topK, model, served, null);
    const withStates = options.returnState ?? true;
    // The view's outputs of one model differ only by these two: made once (a request asks for them every time).
    let views = viewsOf.get(model);
    if (views === undefined) {
      views = new Map();
      viewsOf.set(model, views);
    }
    const key = `${withStates} ${k}`;
    let view = views.get(key);
    if (view === undefined) {
      view = outputsOf(model, withStates, k);
      views.set(key, view);
    }
    return view;
  }
  const names = layerOutputNames(model);
  const known = outputsOf(model, true, null);
  const seen = new Map<string, RequestedOutput>();
  return outputs.map((asked) => {
    const found = known.find((o) => o.name === asked.name);
    if (found === undefined)
      invalidAt(
        `${asked.at}.name`,
        `is '${truncated(asked.name)}'; the model's outputs are ${known.map((k) => `'${k.name}'`).join(', ')}`,
      );
    const first = seen.get(asked.name);
    if (first !== undefined)
      invalidAt(
        `${asked.at}.name`,
        `'${asked.name}' is requested again (also ${first.at}); each output may be named once`,
      );
    seen.set(asked.name, asked);
    if (asked.classes === null) return found;
    if (found.kind !== 'output')
      invalidAt(
        asked.classes.at,
        `applies to '${names.output}', not to '${found.name}' (a state is not a classification)`,
      );
    return { ...found, classes: readClasses(asked.classes.value, asked.classes.at, model, served, found.name) };
  });
}

/** The request's tensors by name, each known to the model (tensors from our routes carry known names). */
function tensorsOf(request: InferenceRequest, model: ResolvedModel | null): Map<string, RequestTensor> {
  const byName = new Map<string, RequestTensor>();
  const known = model === null ? null : layerInputNames(model);
  const optional = known
    ?.slice(1)
    .map((k) => `'${k}'`)
    .join(', ');
  for (const tensor of request.inputs) {
    if (known !== null && tensor.datatype !== null && !known.includes(tensor.name))
      invalidAt(
        `${tensor.at.tensor}.name`,
        `is '${truncated(tensor.name)}'; the model's input is '${known[0]}' (optional: ${optional})`,
      );
    const first = byName.get(tensor.name);
    if (first !== undefined)
      invalidAt(
        'inputs',
        `has ${request.inputs.length} tensors; the model takes 1, named '${known?.[0] ?? 'input'}', and optionally ${optional}, each once: ${tensor.at.tensor} is '${truncated(tensor.name)}' again (also ${first.at.tensor})`,
      );
    byName.set(tensor.name, tensor);
  }
  return byName;
}

/** The state tensors given, all or none: the list-form tensor `name`, or one per name in `names`. */
function givenStates(
  byName: ReadonlyMap<string, RequestTensor>,
  name: string,
  names: readonly string[],
  what: string,
): RequestTensor[] | null {
  const list = byName.get(name);
  if (list !== undefined && list.datatype === null) return [list];
  const states = names.map((n) => byName.get(n));
  const given = states.filter((s) => s !== undefined);
  if (given.length > 0 && given.length < states.length)
    invalidAt(
      'inputs',
      `has ${given.map((s) => `'${s.name}'`).join(', ')} but not ${names
        .filter((_, i) => states[i] === undefined)
        .map((n) => `'${n}'`)
        .join(', ')}: send ${what} or none`,
    );
  return given.length === 0 ? null : given;
}

/** The compute limit's refusal, with the formula of the cost in the terms of the model. */
function computeRefusal(model: ResolvedModel, shape: Shape3, cost: RequestCost, limits: Limits): Error {
  const [b, time, inputDim] = shape;
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
  return limitExceeded(
    '$',
    `the compute cost ${pass}${build}`,
    cost.weightsBuild + cost.compute,
    limits.maxCompute,
    'MAX_COMPUTE',
  );
}

/** A served model's refusals of what it cannot take: texts without a vocabulary, every step of a many-to-one model. */
function checkServed(served: ServedLayers, request: InferenceRequest, input: RequestTensor): void {
  if (input.values.kind === 'text' && served.vocabulary === null)
    invalidAt(
      input.at.tensor,
      `model '${served.name}' version ${served.version} has no vocabulary (${served.file}); send inputs`,
    );
  const at = request.optionsAt.returnSequences;
  if (served.model.lastStep === true && request.options.returnSequences === true)
    invalidAt(
      at,
      `is true, but model '${served.name}' version ${served.version} is many-to-one: its last recurrent layer returns the last step only (return_sequences false in ${served.file}); drop ${at}`,
    );
}

/**
 * Checks and converts a request into a plan. `served`: a model of the repository, resolved once, in advance; else
 * `description` is the model the request describes.
 */
export function planLayers(
  request: InferenceRequest,
  limits: Limits,
  cache: SeededWeightsCache,
  served: ServedLayers | null,
  description: ModelDescription | null,
  sequence: SequenceStep | null = null,
): LayerPlan {
  const known = served?.model ?? null;
  const byName = tensorsOf(request, known);
  const input = byName.get('input');
  // Our forward routes' view names the input `inputs` (or `text`).
  if (input === undefined && request.outputs === 'view') return invalidAt('inputs', 'is required (or text)');
  if (input === undefined)
    return invalidAt(
      'inputs',
      `has no tensor named 'input' (the model's input, [batch, time, ${known?.inputDim ?? 'inputDim'}])`,
    );
  if (served !== null) checkServed(served, request, input);
  const vocabulary = served?.vocabulary ?? request.options.vocabulary;
  const layout = inputLayout(input, limits, known, vocabulary ?? undefined);
  const { shape } = layout;
  const [b, time, inputDim] = shape;
  if (known !== null && inputDim !== known.inputDim) {
    const [path, what] = layout.featuresAt;
    invalidAt(path, `${what}; the model takes ${known.inputDim} (inputDim)`);
  }
  if (b * time * inputDim > limits.maxInputValues) {
    const what = `the input values batch·time·${layout.vocabulary !== null ? 'vocabulary' : 'features'} = ${b}·${time}·${inputDim}`;
    throw limitExceeded(layout.sizeAt, what, b * time * inputDim, limits.maxInputValues, 'MAX_INPUT_VALUES');
  }
  const model = known ?? resolveModel(description ?? {}, inputDim, limits, cache);
  const returnSequences = model.lastStep !== true && (request.options.returnSequences ?? true);
  const outputs = plannedOutputs(request, model, served !== null);
  const stateLayout = readStateLayout(request, model);
  const cost = requestCost(model, shape, { returnSequences, served: served !== null, outputs });
  if (cost.weightsBuild + cost.compute > limits.maxCompute) throw computeRefusal(model, shape, cost, limits);
  if (cost.outputValues > limits.maxOutputValues) {
    const ranked = outputs.find((o) => o.classes !== null);
    const rankedAt =
      request.outputs === 'view' || request.outputs === 'all'
        ? request.optionsAt.topK
        : (request.outputs.find((o) => o.classes !== null)?.classes?.at ?? 'topK');
    const returnState = outputs.some((o) => o.kind !== 'output');
    const what = `the answer's values (outputs${returnState ? ' and states' : ''}${ranked === undefined ? '' : `, ${CLASS_ENTRY_VALUES} per class entry of ${rankedAt}`}; returnSequences ${returnSequences})`;
    throw limitExceeded('$', what, cost.outputValues, limits.maxOutputValues, 'MAX_OUTPUT_VALUES');
  }
  const mask = readMask(byName.get('lengths'), byName.get('mask'), layout, input);
  // Most requests send the input alone (and lengths): no state to look for.
  const stateGiven = byName.size > (byName.has('lengths') ? 2 : 1) + (byName.has('mask') ? 1 : 0);
  const names = stateGiven ? layerInputNames(model) : [];
  const stateNames = names.filter((n) => n.startsWith('initial_state'));
  const cellNames = names.filter((n) => n.startsWith('initial_cell_state'));
  const states = stateGiven
    ? givenStates(byName, 'initial_state', stateNames, 'every initial state (one per layer and direction)')
    : null;
  const cells = stateGiven
    ? givenStates(byName, 'initial_cell_state', cellNames, "every initial cell state (one per LSTM layer's direction)")
    : null;
  const initialStates =
    states === null
      ? null
      : readStates(
          states,
          false,
          model,
          stateLayers(model.spec).map((_, i) => i),
          b,
        );
  let initialCellStates = cells === null ? null : readCellStates(cells, model, b);
  let carriedStates = initialStates;
  if (sequence !== null) {
    if (b !== 1)
      invalidAt(
        layout.sizeAt,
        `has ${count(b, 'sequence')}; a chunk of ${sequence.named} carries one (a batch of 1): send each sequence's chunks in requests of their own`,
      );
    if (sequence.carried !== null) {
      const given = states?.[0] ?? cells?.[0];
      if (given !== undefined)
        invalidAt(
          given.at.tensor,
          `is given to ${sequence.named}, which is in progress: its state is the one its previous chunk left; send initial states only with the chunk that starts it`,
        );
      const count = stateLayers(model.spec).length;
      carriedStates = sequence.carried.slice(0, count) as Float32Array[];
      const indices = cellStateIndices(model);
      initialCellStates = indices.length === 0 ? null : stateLayers(model.spec).map(() => null as Float32Array | null);
      indices.forEach((i, j) => {
        if (initialCellStates !== null) initialCellStates[i] = sequence.carried?.[count + j] ?? null;
      });
    }
  }
  const problems = new ProblemList();
  const inputs = layout.read(problems);
  if (!problems.empty) throw problems.error();
  if (model.embedding) checkIds(inputs, shape, model.embedding.inputDim, input.at.tensor);
  return {
    cost: cost.compute + cost.weightsBuild,
    values: { input: cost.inputValues, output: cost.outputValues },
    inputs,
    shape,
    vocabulary: layout.vocabulary,
    model,
    served: served !== null,
    servedAs: served === null ? null : { name: served.name, version: served.version },
    mask,
    initialStates: carriedStates,
    initialCellStates,
    zeroOutputForMask: request.options.zeroOutputForMask ?? false,
    returnSequences,
    returnState: outputs.some((o) => o.kind !== 'output'),
    stateLayout,
    outputs,
    labels: served?.labels ?? null,
    carry: sequence !== null,
  };
}

/** An Embedding model's inputs are ids [batch, time, 1]: integers in [0, input_dim); a bad one is named. */
function checkIds(ids: Float32Array, shape: Shape3, below: number, at: string): void {
  const time = shape[1];
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] >= below)
      invalidAt(
        `${at}[${Math.floor(i / time)}][${i % time}][0]`,
        `is ${ids[i]}; expected an id, an integer in [0, ${below}) (the Embedding's input_dim)`,
      );
  }
}

/** c_0 of each LSTM layer and direction, indexed as the states (null elsewhere). */
function readCellStates(given: RequestTensor[], model: ResolvedModel, batch: number): (Float32Array | null)[] {
  const indices = cellStateIndices(model);
  if (indices.length === 0)
    invalidAt(
      given[0].at.tensor,
      'applies to lstm layers only, and the model has none: set cell to lstm, or drop initialCellState',
    );
  const read = readStates(given, true, model, indices, batch);
  const all: (Float32Array | null)[] = stateLayers(model.spec).map(() => null);
  indices.forEach((i, j) => (all[i] = read[j]));
  return all;
}
