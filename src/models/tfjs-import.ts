/**
 * TF.js Layers models (`model.json` with `modelTopology` and `weightsManifest`, plus its binary weight
 * shards, as tfjs `model.save` writes them) → a served model. Supported: a Sequential model, or a functional
 * one whose layers form a chain (tfjs-topology.ts), of an optional InputLayer, an optional Masking or Embedding
 * layer (then the inputs are ids, [batch, time, 1]), SimpleRNN, LSTM and GRU layers in any mix (their configs:
 * tfjs-recurrent.ts), each plain or in Bidirectional with its own merge mode (null only as the last layer), the
 * last returning every step or only its last (`return_sequences` false: a many-to-one model, answering
 * [batch, features]), then Dense / TimeDistributed(Dense) / Activation layers with any of our activations or
 * softmax, and Flatten after a last step. Dropout and SpatialDropout1D are the identity at inference and may stand anywhere. The recurrent layers
 * become a model description resolved by resolveModel (the same checks and limits as every model; a mixed
 * stack layer by layer); anything else is an error naming the layer.
 *
 * Weights: the manifest's tensors, in order, are the layers' weights in order (Keras `get_weights()`:
 * kernel [in, G·units], recurrent kernel [units, G·units], bias [G·units] (a GRU with reset_after: [2, 3·units]),
 * G gates: 1 SimpleRNN, 4 LSTM, 3 GRU; forward then backward for Bidirectional; Dense kernel, bias), float32
 * little-endian; each group's tensors lie in its shards concatenated. The whole topology and manifest are
 * checked (sizes within the limits, every shape the one its layer needs, shard paths inside the model's
 * directory) before a shard is read; each shard is stat'ed and must hold exactly its group's declared
 * bytes, then read once (RepositoryFiles: never outside MODELS_DIR).
 */
import { isAbsolute } from 'node:path';
import type { KerasCellWeights } from '../../schemas/forward.js';
import type { Limits } from '../config/config.js';
import {
  biasShape,
  type DenseWeights,
  type EmbeddingWeights,
  type Bidirectional,
  MERGE_MODES,
  type MergeMode,
  type NetworkSpec,
  gateCount,
  outputFeatures,
} from '../engine/index.js';
import { type ModelDescription, type ResolvedModel, resolveModel } from '../inference/model.js';
import { ProblemError } from '../errors/problem-error.js';
import { nested } from '../codec/tensors.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import { RepositoryFileError, type RepositoryFiles, formatBytes } from './repository-files.js';
import {
  type RecurrentConfig,
  type Writer,
  activationOf,
  isRecurrent,
  recurrentConfig,
  writerOf,
} from './tfjs-recurrent.js';
import { type LayerJson, TfjsModelError, fail, isObject, layerAt, named, topologyOf } from './tfjs-topology.js';

export { TfjsModelError };

export const SUPPORTED_LAYERS =
  'InputLayer, Masking, Embedding, SimpleRNN, LSTM, GRU, Bidirectional(SimpleRNN, LSTM or GRU), Dense, TimeDistributed(Dense), Activation, Flatten, Dropout, SpatialDropout1D';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
}

export interface ImportedModel {
  readonly inputDim: number;
  /**
   * The recurrent layers as a request would describe them. A mixed stack has no such description (a request
   * names one wrapping for all layers): its `layers` and `weights` are given, without `bidirectional`, for the
   * record only; requests to a served model run `model`, never resolve this.
   */
  readonly description: ModelDescription;
  readonly model: ResolvedModel;
}

/** Whether a parsed model.json is in the TF.js Layers format (rather than ours). */
export function isTfjsModel(json: unknown): json is { modelTopology: unknown; weightsManifest?: unknown } {
  return typeof json === 'object' && json !== null && 'modelTopology' in json;
}

/** Bytes of a float32: every tensor read is float32 (`take` refuses the others before any read). */
const FLOAT32_BYTES = 4;

/**
 * The most bytes of weights a manifest may declare in all: 1 GiB. The recurrent layers are bounded by
 * MAX_HIDDEN_SIZE, MAX_FEATURES and MAX_LAYERS (about 340 MB at the defaults), Dense layers by
 * MAX_FEATURES each; this bounds the rest (any number of Dense layers, a large Embedding) before a shard
 * is read.
 */
export const MAX_WEIGHT_BYTES = 1024 ** 3;

/** Dimensions no tensor reaches: Float32Array lengths stay far below this. */
const MAX_DIMENSION = 2 ** 31 - 1;

interface WeightGroup {
  readonly paths: string[];
  readonly weights: WeightSpec[];
}

const isWhole = (value: unknown, min: number, max: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/**
 * A shard path, checked to stay in the model's directory (no absolute path, no `..` segment); its
 * segments. Symlinks are checked later, by the real path (RepositoryFiles).
 */
function shardSegments(path: unknown, where: string): string[] {
  if (typeof path !== 'string' || path === '') fail(`${where}: ${JSON.stringify(path)} is not a file name`);
  const segments = path.split(/[\\/]/);
  if (
    isAbsolute(path) ||
    /^[A-Za-z]:/.test(path) ||
    path.includes('\0') ||
    segments.some((s) => s === '..') ||
    segments.every((s) => s === '' || s === '.')
  )
    fail(`${where}: '${path}' is outside the model's directory`);
  return segments.filter((s) => s !== '' && s !== '.');
}

/** The manifest's groups, every field checked (shapes of whole numbers, float32 only) before any use. */
function parseManifest(manifest: unknown): WeightGroup[] {
  if (!Array.isArray(manifest)) fail('weightsManifest: is missing; expected [{paths, weights}]');
  return manifest.map((group: unknown, g) => {
    const where = `weightsManifest[${g}]`;
    if (!isObject(group) || !Array.isArray(group.paths) || group.paths.length === 0 || !Array.isArray(group.weights))
      fail(`${where}: expected {paths: [file, ...], weights: [{name, shape, dtype}, ...]}`);
    for (const path of group.paths) shardSegments(path, `${where}.paths`);
    const weights = group.weights.map((weight: unknown, w) => {
      const at = `${where}.weights[${w}]`;
      if (!isObject(weight) || typeof weight.name !== 'string') fail(`${at}: expected {name, shape, dtype}`);
      const { name, shape, dtype } = weight;
      if (!Array.isArray(shape) || !shape.every((d) => isWhole(d, 0, MAX_DIMENSION)))
        fail(`${at}: ${name} has shape ${JSON.stringify(shape)}; expected a list of whole numbers`);
      if (dtype !== undefined && typeof dtype !== 'string') fail(`${at}: ${name} has dtype ${JSON.stringify(dtype)}`);
      if (weight.quantization !== undefined) fail(`${at}: ${name} is quantized; only float32 weights are supported`);
      return { name, shape: shape as number[], dtype };
    });
    return { paths: group.paths as string[], weights };
  });
}

/**
 * The manifest's tensors, handed out in order to the layers that need them, each checked against the
 * shape its layer needs, before any shard is read: `take` gives the tensor's index, and `read` then reads
 * the shards and returns every tensor.
 */
function weightPlan(manifest: unknown) {
  const groups = parseManifest(manifest);
  const specs = groups.flatMap((group) => group.weights);
  let index = 0;
  return {
    /** The index of the next tensor, which must have `shape`; `what` names it in messages. */
    take(shape: number[], what: string): number {
      const spec = specs[index];
      if (spec === undefined) fail(`weightsManifest: has ${specs.length} tensors; ${what} needs another`);
      if ((spec.dtype ?? 'float32') !== 'float32')
        fail(`weightsManifest: ${spec.name} is ${spec.dtype}; only float32 is supported`);
      if (spec.shape.join(',') !== shape.join(','))
        fail(`weightsManifest: ${spec.name} is [${spec.shape.join(', ')}]; ${what} needs [${shape.join(', ')}]`);
      index += 1;
      return index - 1;
    },
    done() {
      if (index !== specs.length)
        fail(
          `weightsManifest: ${specs[index].name} and ${specs.length - index - 1} more tensors belong to no supported layer`,
        );
    },
    /** Every tensor, from the shards of `directory` (repository-relative); call after `done`. */
    read(files: RepositoryFiles, directory: string): Promise<Float32Array[]> {
      return readShards(files, directory, groups);
    },
  };
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Each group's tensors lie, in order, in its shards concatenated (as tfjs writes and reads them), so a
 * group's shards must hold exactly the bytes its tensors declare. Every shard is stat'ed (inside the
 * repository, a regular file) and every group's size checked before any shard is read; each shard is then
 * read once. A shard listed twice (or two paths to one file) is refused rather than read twice.
 */
async function readShards(files: RepositoryFiles, directory: string, groups: WeightGroup[]): Promise<Float32Array[]> {
  const declared = groups.map((group) => group.weights.reduce((sum, w) => sum + elements(w.shape) * FLOAT32_BYTES, 0));
  const total = declared.reduce((a, b) => a + b, 0);
  if (total > MAX_WEIGHT_BYTES)
    fail(
      `weightsManifest: declares ${formatBytes(total)} of weights; the limit is ${formatBytes(MAX_WEIGHT_BYTES)} (MAX_WEIGHT_BYTES)`,
    );
  const seen = new Map<string, string>();
  const shards: { rel: string; path: string; size: number }[][] = [];
  for (const [g, group] of groups.entries()) {
    const where = `weightsManifest[${g}].paths`;
    const measured = [];
    for (const path of group.paths) {
      const rel = [directory, ...shardSegments(path, where)].join('/');
      const shard = await files.measure(rel).catch((error: unknown) => {
        if (error instanceof RepositoryFileError) fail(`${where}: cannot read '${path}' (${rel}): ${error.message}`);
        throw error;
      });
      const again = seen.get(shard.real);
      if (again !== undefined)
        fail(
          `${where}: '${path}' ${again === path ? 'is listed twice' : `is the same file as '${again}'`} (a shard holds the weights of one group, and is read once)`,
        );
      seen.set(shard.real, path);
      measured.push({ rel, path, size: shard.size });
    }
    const size = measured.reduce((sum, shard) => sum + shard.size, 0);
    if (size !== declared[g]) {
      const which =
        measured.length === 1
          ? `'${measured[0].path}' (${measured[0].rel}) is`
          : `${measured.map((m) => `'${m.path}'`).join(', ')} are together`;
      fail(
        `${where}: ${which} ${formatBytes(size)}; the manifest declares ${formatBytes(declared[g])} (${group.weights.length} tensors in weightsManifest[${g}].weights)`,
      );
    }
    shards.push(measured);
  }
  const tensors: Float32Array[] = [];
  for (const [g, group] of groups.entries()) {
    const buffers: Buffer[] = [];
    for (const shard of shards[g]) {
      buffers.push(
        await files
          .read(shard.rel, { exact: shard.size, described: 'it changed since it was measured, at' })
          .catch((error: unknown) => {
            if (error instanceof RepositoryFileError)
              fail(`weightsManifest[${g}].paths: cannot read '${shard.path}' (${shard.rel}): ${error.message}`);
            throw error;
          }),
      );
    }
    const bytes = buffers.length === 1 ? buffers[0] : Buffer.concat(buffers);
    let offset = 0;
    for (const spec of group.weights) {
      const count = elements(spec.shape);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(offset + 4 * i);
      offset += 4 * count;
      tensors.push(out);
    }
  }
  return tensors;
}

/** A whole number in [1, max] from a layer's config, or an error naming the field, its value and the limit. */
function whole(value: unknown, where: string, field: string, max: number, limit?: string): number {
  if (!isWhole(value, 1, max))
    fail(
      `${where}: ${field} is ${JSON.stringify(value)}; expected a whole number from 1 to ${max}${limit ? ` (${limit})` : ''}`,
    );
  return value;
}

/** Layers that are the identity at inference (Keras applies them in training only). */
const TRAINING_ONLY = ['Dropout', 'SpatialDropout1D'];

/** The input shape a layer declares: Keras 2 and tfjs `batch_input_shape`, Keras 3 `batch_shape`. */
const declaredShape = (layer: LayerJson): unknown => layer.config.batch_input_shape ?? layer.config.batch_shape;

/** Features of each input step, from the first layer that declares the input shape [batch, time, features]. */
function inputFeatures(layers: LayerJson[], limits: Limits): number {
  const k = layers.findIndex((layer) => declaredShape(layer) !== undefined);
  const at = Math.max(k, 0);
  const inputShape = declaredShape(layers[at]);
  const open = (d: unknown) => d === null || isWhole(d, 1, MAX_DIMENSION);
  if (
    !Array.isArray(inputShape) ||
    inputShape.length !== 3 ||
    !open(inputShape[0]) ||
    !open(inputShape[1]) ||
    typeof inputShape[2] !== 'number'
  ) {
    fail(
      `${named(layers[at], at)}: batch_input_shape is ${JSON.stringify(inputShape)}; expected [batch, time, features] with features known (batch and time null or positive)`,
    );
  }
  return whole(
    inputShape[2],
    named(layers[at], at),
    'batch_input_shape[2] (features)',
    limits.maxFeatures,
    'MAX_FEATURES',
  );
}

/**
 * Keras 3 (and Keras 2 when one was given) writes Bidirectional's `backward_layer`: served only when it is the
 * forward layer run the other way, which is what the engine runs; its weights come after the forward ones as
 * usual.
 */
function sameBackward(backward: unknown, forward: RecurrentConfig, where: string, writer: Writer): void {
  if (backward === undefined || backward === null) return;
  const at = `${where} backward_layer`;
  const layer = layerAt(backward, at);
  if (!isRecurrent(layer.class_name)) fail(`${at}: ${layer.class_name} is not supported; expected ${forward.cell}`);
  const read = recurrentConfig(layer, at, writer, (value) => whole(value, at, 'units', MAX_DIMENSION));
  if (read.cell !== forward.cell)
    fail(`${at}: ${layer.class_name} is not the forward layer's cell (${forward.cell}); supported: the same layer`);
  const mine = { ...read.spec, goBackwards: !read.spec.goBackwards };
  const differs = (Object.keys(KERAS_FIELDS) as (keyof typeof KERAS_FIELDS)[])
    .filter((key) => forward.spec[key] !== mine[key])
    .map((key) => `${KERAS_FIELDS[key]} ${JSON.stringify(read.spec[key])}`);
  if (read.returnSequences !== forward.returnSequences) differs.push(`return_sequences ${read.returnSequences}`);
  if (read.returnState !== forward.returnState) differs.push(`return_state ${read.returnState}`);
  if (differs.length > 0)
    fail(
      `${at}: is not the forward layer run backwards (${differs.join(', ')}); supported: a backward layer like the forward one, with go_backwards the other way`,
    );
}

/**
 * A layer spec's fields that must agree between Bidirectional's two layers, by their Keras names (go_backwards
 * the other way; unit_forget_bias only initialises, so it may differ).
 */
const KERAS_FIELDS = {
  hiddenSize: 'units',
  activation: 'activation',
  useBias: 'use_bias',
  goBackwards: 'go_backwards',
  recurrentActivation: 'recurrent_activation',
  resetAfter: 'reset_after',
} as const;

/** One recurrent layer as read: its spec, its wrapping, and its cells' tensor indices (forward, then backward). */
interface RecurrentLayer {
  readonly spec: NonNullable<ModelDescription['layers']>[number];
  readonly wrapping: Bidirectional | null;
  readonly returnState: boolean;
  readonly cells: {
    kernel: number;
    recurrentKernel: number;
    bias: number | null;
    /** [G·units], or [2, 3·units] for a GRU with reset_after. */
    biasShape: number[];
    features: number;
    units: number;
    /** G: the gate blocks of `units` columns in the kernels. */
    gates: number;
  }[];
}

/**
 * The model of a TF.js model.json whose shards are in `directory` (repository-relative). The topology
 * and the manifest are checked in full (every layer's sizes within the limits, every tensor's shape
 * the one its layer needs) before a shard is read, so the bytes read are bounded by the limits.
 */
export async function loadTfjsModel(
  files: RepositoryFiles,
  directory: string,
  json: { modelTopology: unknown; weightsManifest?: unknown; generatedBy?: unknown },
  limits: Limits,
  cache: SeededWeightsCache,
): Promise<ImportedModel> {
  const { layers, outputs } = topologyOf(json.modelTopology);
  const writer = writerOf(json);
  const weights = weightPlan(json.weightsManifest);
  // The first layer that computes anything: Masking and Embedding must be it.
  const first = layers.findIndex((layer) => layer.class_name !== 'InputLayer');
  if (first < 0) fail(`modelTopology: has no recurrent layer; supported: ${SUPPORTED_LAYERS}`);
  // An Embedding takes ids ([batch, time], sent as [batch, time, 1]); anything else [batch, time, features].
  let embedding: { inputDim: number; outputDim: number; embeddings: number; maskZero: boolean } | null = null;
  let inputDim: number;
  if (layers[first].class_name === 'Embedding') {
    const c = layers[first].config;
    const where = named(layers[first], first);
    const vocabulary = whole(c.input_dim, where, 'input_dim', MAX_DIMENSION);
    const outputDim = whole(c.output_dim, where, 'output_dim', limits.maxFeatures, 'MAX_FEATURES');
    embedding = {
      inputDim: vocabulary,
      outputDim,
      embeddings: weights.take([vocabulary, outputDim], `${where} embeddings`),
      maskZero: c.mask_zero === true,
    };
    inputDim = outputDim;
  } else {
    inputDim = inputFeatures(layers, limits);
  }

  let maskValue: number | null = null;
  const recurrent: RecurrentLayer[] = [];
  const head: (Omit<DenseWeights, 'kernel' | 'bias'> & { kernel: number | null; bias: number | null })[] = [];
  let features = inputDim;
  /** Whether the tensor between layers still has its time axis: until a recurrent layer returns its last step. */
  let sequence = true;
  /** The layer that left two tensors (Bidirectional with merge_mode null): nothing may follow it. */
  let unmerged: string | null = null;

  for (const [k, layer] of layers.entries()) {
    const where = named(layer, k);
    const config = layer.config;
    if (unmerged !== null && !TRAINING_ONLY.includes(layer.class_name))
      fail(`${where}: follows ${unmerged}, whose merge_mode null leaves two tensors; only supported as the last layer`);
    if (layer.class_name === 'InputLayer') {
      if (k !== 0) fail(`${where}: InputLayer is only supported as the first layer`);
      continue;
    }
    if (TRAINING_ONLY.includes(layer.class_name)) continue;
    if (layer.class_name === 'Embedding') {
      if (k !== first) fail(`${where}: Embedding is only supported as the first layer`);
      continue;
    }
    if (layer.class_name === 'Masking') {
      if (k !== first) fail(`${where}: Masking is only supported as the first layer`);
      maskValue = config.mask_value === undefined ? 0 : (config.mask_value as number);
      if (typeof maskValue !== 'number' || !Number.isFinite(maskValue))
        fail(`${where}: mask_value is ${JSON.stringify(config.mask_value)}; expected a number`);
      continue;
    }
    if (isRecurrent(layer.class_name) || layer.class_name === 'Bidirectional') {
      if (head.length > 0) fail(`${where}: a recurrent layer after Dense or Activation layers is not supported`);
      if (!sequence)
        fail(
          `${where}: follows a recurrent layer with return_sequences false, which leaves no time axis; set return_sequences true on every recurrent layer but the last`,
        );
      const wrapped = layer.class_name === 'Bidirectional';
      const rnn = wrapped ? config.layer : layer;
      if (rnn === undefined || !isRecurrent(rnn.class_name))
        fail(`${where}: Bidirectional(${rnn?.class_name}) is not supported; supported: ${SUPPORTED_LAYERS}`);
      const mode: MergeMode | undefined = wrapped ? ((config.merge_mode ?? null) as MergeMode) : undefined;
      if (wrapped && mode !== null && !(MERGE_MODES as readonly string[]).includes(mode as string))
        fail(`${where}: merge_mode '${mode}' is not supported (${MERGE_MODES.join(', ')}, or null as the last layer)`);
      if (recurrent.length === limits.maxLayers)
        fail(`${where}: more than ${limits.maxLayers} recurrent layers; the limit is ${limits.maxLayers} (MAX_LAYERS)`);
      const read = recurrentConfig(rnn, where, writer, (value) =>
        whole(value, where, 'units', limits.maxHiddenSize, 'MAX_HIDDEN_SIZE'),
      );
      if (wrapped) sameBackward(config.backward_layer, read, where, writer);
      const { cell, units, useBias } = read;
      const gates = gateCount(cell);
      const bias = biasShape(cell, units, read.spec.resetAfter === true);
      // Which GRU formulation a bias belongs to, for the message when the manifest has the other one.
      const biasNote = cell === 'gru' ? ` (GRU reset_after ${read.spec.resetAfter})` : '';
      const cells: RecurrentLayer['cells'] = [];
      for (const direction of wrapped ? ['forward', 'backward'] : ['']) {
        const label = `${where}${direction ? ` ${direction}` : ''}`;
        cells.push({
          kernel: weights.take([features, gates * units], `${label} kernel`),
          recurrentKernel: weights.take([units, gates * units], `${label} recurrent kernel`),
          bias: useBias ? weights.take(bias, `${label} bias${biasNote}`) : null,
          biasShape: bias,
          features,
          units,
          gates,
        });
      }
      recurrent.push({
        spec: read.spec,
        wrapping: wrapped ? { mergeMode: mode as MergeMode } : null,
        returnState: read.returnState,
        cells,
      });
      // Keras: a recurrent layer returns every step only with return_sequences true (default false).
      sequence = read.returnSequences;
      if (wrapped && mode === null) unmerged = where;
      features = wrapped && mode === 'concat' ? 2 * units : units;
      continue;
    }
    const dense =
      layer.class_name === 'Dense' || (layer.class_name === 'TimeDistributed' && config.layer?.class_name === 'Dense');
    if (dense || layer.class_name === 'Activation' || layer.class_name === 'Flatten') {
      if (recurrent.length === 0) fail(`${where}: ${layer.class_name} before any recurrent layer is not supported`);
      if (layer.class_name === 'Flatten') {
        // On [batch, features] Flatten changes nothing; on a sequence it would join the steps, which we do not serve.
        if (sequence)
          fail(
            `${where}: Flatten of a sequence is not supported (only after a recurrent layer with return_sequences false)`,
          );
        continue;
      }
      if (layer.class_name === 'TimeDistributed' && !sequence)
        fail(`${where}: TimeDistributed needs a sequence, but the recurrent layer before returns its last step only`);
      if (layer.class_name === 'Activation') {
        const activation = activationOf(config.activation, where, true, writer);
        head.push({ inputDim: features, units: features, kernel: null, bias: null, activation });
        continue;
      }
      const c = layer.class_name === 'Dense' ? config : config.layer!.config;
      // A Dense layer's units are the features of each output step: bounded as input features are.
      const units = whole(c.units, where, 'units', limits.maxFeatures, 'MAX_FEATURES');
      const useBias = c.use_bias !== false;
      const kernel = weights.take([features, units], `${where} kernel`);
      const bias = useBias ? weights.take([units], `${where} bias`) : null;
      head.push({
        inputDim: features,
        units,
        kernel,
        bias,
        activation: activationOf(c.activation, where, true, writer),
      });
      features = units;
      continue;
    }
    const inner =
      layer.class_name === 'TimeDistributed' || layer.class_name === 'Bidirectional'
        ? `(${config.layer?.class_name})`
        : '';
    fail(`${where}: ${layer.class_name}${inner} is not supported; supported: ${SUPPORTED_LAYERS}`);
  }
  weights.done();
  if (recurrent.length === 0) fail(`modelTopology: has no recurrent layer; supported: ${SUPPORTED_LAYERS}`);
  const lastLayer = recurrent[recurrent.length - 1];
  // A last Bidirectional with merge_mode null has two outputs (forward, backward), before any states.
  const merged = unmerged === null ? 1 : 2;
  if (outputs.length > merged && (head.length > 0 || !lastLayer.returnState))
    fail(
      `modelTopology.config.output_layers: lists ${outputs.length} outputs; more than ${merged} only from a last recurrent layer with return_state true`,
    );

  // Everything checked: only now are the shards read.
  const tensors = await weights.read(files, directory);
  const cellWeights = (cell: RecurrentLayer['cells'][number]): KerasCellWeights => ({
    kernel: nested(tensors[cell.kernel], [cell.features, cell.gates * cell.units]) as number[][],
    recurrentKernel: nested(tensors[cell.recurrentKernel], [cell.units, cell.gates * cell.units]) as number[][],
    ...(cell.bias !== null ? { bias: nested(tensors[cell.bias], cell.biasShape) as number[] | number[][] } : {}),
  });
  const layerCells = recurrent.map((layer) => layer.cells.map(cellWeights));
  const wrappings = recurrent.map((layer) => layer.wrapping);
  const uniform = wrappings.every((w) => JSON.stringify(w) === JSON.stringify(wrappings[0]));
  const description: ModelDescription = {
    layers: recurrent.map((layer) => layer.spec),
    ...(uniform && wrappings[0] !== null ? { bidirectional: wrappings[0] } : {}),
    weights: layerCells.flat(),
  };
  const resolve = (model: ModelDescription, features: number) => {
    try {
      return resolveModel(model, features, limits, cache);
    } catch (error) {
      if (error instanceof ProblemError) fail(`as a model description: ${error.message}`);
      throw error;
    }
  };
  let resolved: ResolvedModel;
  if (uniform) resolved = resolve(description, inputDim);
  else {
    // Requests describe one wrapping for every layer: a mixed stack is resolved layer by layer, then joined.
    const parts = recurrent.map((layer, k) =>
      resolve(
        {
          layers: [layer.spec],
          ...(layer.wrapping !== null ? { bidirectional: layer.wrapping } : {}),
          weights: layerCells[k],
        },
        layer.cells[0].features,
      ),
    );
    const spec: NetworkSpec = {
      layers: parts.map((part) => part.spec.layers[0]),
      bidirectional: null,
      layerBidirectional: wrappings,
    };
    resolved = { spec, weights: parts.map((part) => part.weights[0]), inputDim, seed: null, buildCost: 0 };
  }
  const dense: DenseWeights[] = head.map((layer) => ({
    ...layer,
    kernel: layer.kernel === null ? null : tensors[layer.kernel],
    bias: layer.bias === null ? null : tensors[layer.bias],
  }));
  const last = resolved.spec.layers.length - 1;
  if (dense.length > 0 && dense[0].inputDim !== outputFeatures(resolved.spec, last))
    fail('the first Dense layer does not fit the recurrent outputs');
  const lastStep = sequence ? {} : { lastStep: true };
  if (embedding !== null) {
    const table: EmbeddingWeights = { ...embedding, embeddings: tensors[embedding.embeddings] };
    return {
      inputDim: 1,
      description,
      model: { ...resolved, inputDim: 1, embedding: table, head: dense, ...lastStep },
    };
  }
  return { inputDim, description, model: { ...resolved, maskValue, head: dense, ...lastStep } };
}
