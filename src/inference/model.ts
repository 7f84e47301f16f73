/**
 * The model description shared by POST /rnn/forward and POST /rnn/weights → an engine network: its
 * layer specs and its weights (seeded, or explicit in Keras, PyTorch or ONNX layout, converted to Keras).
 * Every contradiction or shape mismatch is a 400 naming the JSON path, what it has and what was expected.
 */
import { DEFAULT_SEED, type ModelSummary } from '../../schemas/forward.js';
import type { ModelDescription } from './model-description.js';
import { type RawCell, checkedWeights, optionPath, readExplicitCells } from './explicit-weights.js';
import type { Limits } from '../config/config.js';
import {
  type CellName,
  cellOf,
  DEFAULT_ACTIVATION,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  DEFAULT_UNIT_FORGET_BIAS,
  type DenseWeights,
  type EmbeddingWeights,
  type LayerSpec,
  type NetworkSpec,
  type NetworkWeights,
  directionsOf,
  outputFeatures,
} from '../engine/index.js';
import { invalidAt, limitExceeded } from '../errors/problem-error.js';
import { ProblemList, count } from '../codec/tensors.js';
import { type SeededWeightsCache, seededWeightsCost, seededWeightsKey } from './weights-cache.js';

export type { ModelDescription };

export interface ResolvedModel {
  readonly spec: NetworkSpec;
  readonly weights: NetworkWeights;
  readonly inputDim: number;
  readonly seed: number | null;
  /** Multiply-adds still needed to build the weights (seeded and not cached yet), else 0. */
  readonly buildCost: number;
  /** Imported models only: Keras Masking before the recurrent layers (steps whose features all equal it are masked). */
  readonly maskValue?: number | null;
  /**
   * Imported models only: Keras Embedding before the recurrent layers. The inputs are then ids,
   * [batch, time, 1] (`inputDim` is 1), looked up into [batch, time, outputDim] for the first recurrent layer.
   */
  readonly embedding?: EmbeddingWeights | null;
  /** Imported models only: Dense layers after the recurrent layers, on the last axis of the outputs. */
  readonly head?: readonly DenseWeights[];
  /**
   * Imported models only: the last recurrent layer returns its last step alone (Keras `return_sequences: false`,
   * a many-to-one model), so answers are [batch, features] and a request for every step is refused.
   */
  readonly lastStep?: boolean;
}

/** Features of the outputs a client receives: the last Dense layer's units, else the last recurrent layer's. */
export function modelOutputFeatures(model: ResolvedModel): number {
  const head = model.head ?? [];
  return head.length > 0 ? head[head.length - 1].units : outputFeatures(model.spec, model.spec.layers.length - 1);
}

/**
 * Whether the model's outputs are class probabilities: its last layer is a softmax Dense (or Activation) layer.
 * What decides that a layer model is a classifier, for topK, the classification extension and labels.txt.
 */
export function endsInSoftmax(model: ResolvedModel): boolean {
  const head = model.head ?? [];
  return head.length > 0 && head[head.length - 1].activation === 'softmax';
}

const SHORTHAND = [
  'hiddenSize',
  'activation',
  'useBias',
  'goBackwards',
  'clip',
  'cell',
  'recurrentActivation',
  'unitForgetBias',
  'resetAfter',
] as const;

const WEIGHT_SOURCES = ['seed', 'weights', 'pytorchWeights', 'onnxWeights'] as const;

/** Checks that only one source of weights is given and the layer fields are used one way or the other. */
function checkExclusive(model: ModelDescription): void {
  let first: (typeof WEIGHT_SOURCES)[number] | null = null;
  for (const key of WEIGHT_SOURCES) {
    if (model[key] === undefined) continue;
    if (first !== null) invalidAt(key, `cannot be combined with ${first}; send one source of weights`);
    first = key;
  }
  if (model.layers !== undefined) {
    for (const key of SHORTHAND) {
      if (model[key] !== undefined)
        invalidAt(key, `cannot be combined with layers; set it on each layer (layers[k].${key})`);
    }
  }
}

/**
 * useBias when the request does not say: true, except for a PyTorch state_dict without the layer's bias entries,
 * which is how `nn.RNN(bias=False)` saves itself (saying `useBias: true` then is a contradiction, reported by
 * checkedWeights).
 */
function defaultUseBias(model: ModelDescription, layer: RawCell[] | undefined): boolean {
  if (model.pytorchWeights === undefined || layer === undefined) return true;
  return layer.some((cell) => cell.bias !== null);
}

function layerSpecs(model: ModelDescription, cells: RawCell[][] | null, limits: Limits): LayerSpec[] {
  const fromWeights = cells?.map((layer) => layer[0].recurrentKernel.rows);
  let described: {
    hiddenSize?: number;
    activation?: LayerSpec['activation'];
    useBias?: boolean;
    goBackwards?: boolean;
    clip?: number;
    cell?: CellName;
    recurrentActivation?: LayerSpec['activation'];
    unitForgetBias?: boolean;
    resetAfter?: boolean;
  }[];
  let hiddenPath: (k: number) => string;
  if (model.layers !== undefined) {
    if (model.layers.length === 0) invalidAt('layers', 'is empty; expected at least 1 layer');
    described = model.layers;
    hiddenPath = (k) => `layers[${k}].hiddenSize`;
    if (fromWeights !== undefined && fromWeights.length !== model.layers.length) {
      invalidAt('layers', `has ${count(model.layers.length, 'layer')} but the weights describe ${fromWeights.length}`);
    }
  } else {
    // The single-layer fields apply to every layer the explicit weights describe (one when seeded).
    described = fromWeights === undefined ? [model] : fromWeights.map(() => model);
    hiddenPath = () => 'hiddenSize';
  }
  if (described.length > limits.maxLayers)
    throw limitExceeded('layers', 'the number of layers', described.length, limits.maxLayers, 'MAX_LAYERS');

  const specs: LayerSpec[] = [];
  for (let k = 0; k < described.length; k++) {
    const layer = described[k];
    const weightsHidden = fromWeights?.[k];
    if (layer.hiddenSize !== undefined && weightsHidden !== undefined && layer.hiddenSize !== weightsHidden) {
      invalidAt(
        hiddenPath(k),
        `is ${layer.hiddenSize} but the weights of layer ${k} have ${weightsHidden} units; they must agree`,
      );
    }
    const size = layer.hiddenSize ?? weightsHidden;
    if (size === undefined) invalidAt(hiddenPath(k), 'is required unless weights are given');
    if (size === 0) invalidAt(cells![k][0].paths.recurrentKernel, 'is empty; expected [hiddenSize, hiddenSize]');
    if (size > limits.maxHiddenSize) {
      throw limitExceeded(
        weightsHidden === undefined ? hiddenPath(k) : cells![k][0].paths.recurrentKernel,
        'the hidden size',
        size,
        limits.maxHiddenSize,
        'MAX_HIDDEN_SIZE',
      );
    }
    specs.push({
      hiddenSize: size,
      activation: layer.activation ?? DEFAULT_ACTIVATION,
      useBias: layer.useBias ?? defaultUseBias(model, cells?.[k]),
      goBackwards: layer.goBackwards ?? false,
      clip: layer.clip ?? null,
      ...cellOptions(model, k, layer),
    });
  }
  return specs;
}

/**
 * A layer's cell and the options of that cell, defaults filled in; nothing for a SimpleRNN layer, so that its
 * spec (and the `model` summary written from it) stays what it was before there were other cells. An option of
 * another cell is a 400 naming it.
 */
function cellOptions(
  model: ModelDescription,
  k: number,
  layer: {
    cell?: CellName;
    recurrentActivation?: LayerSpec['activation'];
    unitForgetBias?: boolean;
    resetAfter?: boolean;
  },
): Pick<LayerSpec, 'cell' | 'recurrentActivation' | 'unitForgetBias' | 'resetAfter'> {
  const cell = cellOf(layer);
  const which = model.layers === undefined ? `the cell is ${cell}` : `layer ${k} is ${cell}`;
  const refuse = (name: string, applies: string) =>
    invalidAt(optionPath(model, k, name), `applies to ${applies} only, and ${which}: set cell, or drop ${name}`);
  if (layer.recurrentActivation !== undefined && cell === 'simpleRNN') refuse('recurrentActivation', 'lstm and gru');
  if (layer.unitForgetBias !== undefined && cell !== 'lstm') refuse('unitForgetBias', 'lstm');
  if (layer.resetAfter !== undefined && cell !== 'gru') refuse('resetAfter', 'gru');
  if (cell === 'simpleRNN') return {};
  const recurrentActivation = layer.recurrentActivation ?? DEFAULT_RECURRENT_ACTIVATION;
  if (cell === 'lstm')
    return { cell, recurrentActivation, unitForgetBias: layer.unitForgetBias ?? DEFAULT_UNIT_FORGET_BIAS };
  return { cell, recurrentActivation, resetAfter: layer.resetAfter ?? DEFAULT_RESET_AFTER };
}

/**
 * A seeded model, its weights built on first use: where the pass runs on a worker, the worker builds them (a
 * QR for a large hidden size would otherwise hold the event loop), and the main thread never does. The
 * weights stay in the weights cache, not here: a model is kept across requests (`resolveModel`), and must not
 * keep a set the cache has let go. A class, not an object literal with getters: V8 builds those on a slow
 * path, which showed in every small request. (Spreading one would lose `weights` and `buildCost`: copy its
 * fields by name, as src/runtime/pool.ts does.)
 */
class SeededModel implements ResolvedModel {
  readonly #cache: SeededWeightsCache;
  /** The weights cache's key of this model's set, made once. */
  readonly #key: string;
  readonly #cost: number;

  constructor(
    readonly spec: NetworkSpec,
    readonly inputDim: number,
    readonly seed: number,
    cache: SeededWeightsCache,
  ) {
    this.#cache = cache;
    this.#key = seededWeightsKey(seed, spec, inputDim);
    this.#cost = seededWeightsCost(spec);
  }

  /** Nothing once the cache holds the set (built by an earlier request, here or on a worker). */
  get buildCost(): number {
    return this.#cache.hasKey(this.#key) ? 0 : this.#cost;
  }

  /**
   * From the cache, built if it does not hold them (read it once per use: with SEEDED_WEIGHTS_CACHE=0 every read
   * builds).
   */
  get weights(): NetworkWeights {
    return this.#cache.getKeyed(this.#key, this.seed, this.spec, this.inputDim);
  }
}

/** The description fields of a seeded model in the single-layer shorthand: all that resolving one reads. */
export const SEEDED_SHORTHAND_FIELDS = ['seed', ...SHORTHAND, 'bidirectional'] as const;

/** A seeded shorthand description's fields (`merge`: the merge mode, or '-' when not bidirectional) and input size. */
interface Shorthand {
  readonly inputDim: number;
  readonly seed: number | undefined;
  readonly hiddenSize: number | undefined;
  readonly activation: string | undefined;
  readonly useBias: boolean | undefined;
  readonly goBackwards: boolean | undefined;
  readonly clip: number | undefined;
  readonly cell: string | undefined;
  readonly recurrentActivation: string | undefined;
  readonly unitForgetBias: boolean | undefined;
  readonly resetAfter: boolean | undefined;
  readonly merge: string | null | undefined;
}

/** Whether a description is seeded and in the single-layer shorthand (no `layers`, no explicit weights). */
function isSeededShorthand(model: ModelDescription): boolean {
  return (
    model.layers === undefined &&
    model.weights === undefined &&
    model.pytorchWeights === undefined &&
    model.onnxWeights === undefined
  );
}

const mergeOf = (model: ModelDescription): string | null | undefined =>
  model.bidirectional === undefined ? '-' : model.bidirectional.mergeMode;

function shorthandOf(model: ModelDescription, inputDim: number): Shorthand {
  const { seed, hiddenSize, activation, useBias, goBackwards, clip } = model;
  const { cell, recurrentActivation, unitForgetBias, resetAfter } = model;
  return {
    inputDim,
    seed,
    hiddenSize,
    activation,
    useBias,
    goBackwards,
    clip,
    cell,
    recurrentActivation,
    unitForgetBias,
    resetAfter,
    merge: mergeOf(model),
  };
}

/** Whether a seeded shorthand description with this input size is the one `known` holds. */
function describes(known: Shorthand, model: ModelDescription, inputDim: number): boolean {
  return (
    known.inputDim === inputDim &&
    known.seed === model.seed &&
    known.hiddenSize === model.hiddenSize &&
    known.activation === model.activation &&
    known.useBias === model.useBias &&
    known.goBackwards === model.goBackwards &&
    known.clip === model.clip &&
    known.cell === model.cell &&
    known.recurrentActivation === model.recurrentActivation &&
    known.unitForgetBias === model.unitForgetBias &&
    known.resetAfter === model.resetAfter &&
    known.merge === mergeOf(model)
  );
}

const shorthandKey = (d: Shorthand): string =>
  `${d.inputDim} ${d.seed} ${d.hiddenSize} ${d.activation} ${d.useBias} ${d.goBackwards} ${d.clip} ${d.merge} ` +
  `${d.cell} ${d.recurrentActivation} ${d.unitForgetBias} ${d.resetAfter}`;

/** At most this many seeded shorthand models are kept per weights cache (each is a few small objects). */
const RESOLVED_MAX = 256;

interface Resolved {
  readonly shorthand: Shorthand;
  readonly limits: Limits;
  readonly model: ResolvedModel;
}

/**
 * Seeded shorthand models resolved before, per weights cache (one per app) and with the limits they passed:
 * by key, and the last one on its own (a client sending one model again and again, the common case, is
 * recognised by comparing its fields, without making a key).
 */
interface ResolvedModels {
  readonly byKey: Map<string, Resolved>;
  last: Resolved | null;
}

const resolvedSeeded = new WeakMap<SeededWeightsCache, ResolvedModels>();

/**
 * The description → its model: checked against the limits and the weights. A seeded shorthand description
 * (the common request: `hiddenSize`, `seed`, the layer options) resolved before under the same limits is not
 * checked again: the same model is returned, and its summary text is written once (layer-run.ts). Resolving
 * one anew and writing its summary cost a hello request ~5 % of its throughput on the server
 * (docs/performance.md#where-the-time-goes).
 *
 * Fast path of: resolveDescription. test/inference/model-memo.test.ts holds the memo to it (the same
 * description gives the same model; each of the fields that make a model gives another).
 */
export function resolveModel(
  model: ModelDescription,
  inputDim: number,
  limits: Limits,
  cache: SeededWeightsCache,
): ResolvedModel {
  if (!isSeededShorthand(model)) return resolveDescription(model, inputDim, limits, cache);
  let resolved = resolvedSeeded.get(cache);
  if (resolved === undefined) {
    resolved = { byKey: new Map(), last: null };
    resolvedSeeded.set(cache, resolved);
  }
  const { last } = resolved;
  if (last !== null && last.limits === limits && describes(last.shorthand, model, inputDim)) return last.model;
  const shorthand = shorthandOf(model, inputDim);
  const key = shorthandKey(shorthand);
  let known = resolved.byKey.get(key);
  if (known === undefined || known.limits !== limits) {
    known = { shorthand, limits, model: resolveDescription(model, inputDim, limits, cache) };
    // Full: the oldest goes (Maps keep insertion order).
    if (!resolved.byKey.has(key) && resolved.byKey.size >= RESOLVED_MAX)
      resolved.byKey.delete(resolved.byKey.keys().next().value as string);
    resolved.byKey.set(key, known);
  }
  resolved.last = known;
  return known.model;
}

function resolveDescription(
  model: ModelDescription,
  inputDim: number,
  limits: Limits,
  cache: SeededWeightsCache,
): ResolvedModel {
  checkExclusive(model);
  const bidirectional = model.bidirectional === undefined ? null : { mergeMode: model.bidirectional.mergeMode ?? null };
  const directions = bidirectional === null ? 1 : 2;
  const problems = new ProblemList();
  const cells = readExplicitCells(model, directions, problems);
  if (!problems.empty) throw problems.error();

  const layers = layerSpecs(model, cells, limits);
  if (bidirectional !== null) {
    layers.forEach((layer, k) => {
      if (layer.goBackwards)
        invalidAt(
          model.layers ? `layers[${k}].goBackwards` : 'goBackwards',
          'cannot be combined with bidirectional (its backward direction already runs backwards)',
        );
    });
    if (bidirectional.mergeMode === null && layers.length > 1) {
      invalidAt(
        'bidirectional.mergeMode',
        'is null, which returns two sequences: only possible for a single layer (a stack needs one merged sequence between layers)',
      );
    }
  }
  const spec: NetworkSpec = { layers, bidirectional };
  if (cells === null) {
    return new SeededModel(spec, inputDim, model.seed ?? DEFAULT_SEED, cache);
  }
  return { spec, weights: checkedWeights(spec, cells, inputDim), inputDim, seed: null, buildCost: 0 };
}

export function modelSummary(model: ResolvedModel): ModelSummary {
  const { spec } = model;
  return {
    inputDim: model.inputDim,
    hiddenSize: spec.layers[spec.layers.length - 1].hiddenSize,
    seed: model.seed,
    layers: spec.layers.map((layer, k) => ({
      ...layer,
      ...(spec.layerBidirectional === undefined ? {} : { bidirectional: spec.layerBidirectional[k] }),
    })),
    bidirectional: spec.bidirectional,
  };
}

export { directionsOf };
