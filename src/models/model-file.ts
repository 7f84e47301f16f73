/**
 * One version of a model, loaded from its file: `NAME/VERSION/model.json` or `model.onnx`. A model.json is ours
 * (format rnn-serve/v1) or a TF.js Layers model (src/models/tfjs-import.ts); a model.onnx is an ONNX graph
 * (src/models/onnx/, Triton's file name); ours is checked against the ModelFile schema and resolved by resolveModel
 * under the configured limits, so a served model's weights are built once and every request reuses them. Files are
 * read through RepositoryFiles: nothing outside MODELS_DIR, nothing unbounded, and what clients see names files
 * relative to the repository (`hello/1/model.json`), never the absolute MODELS_DIR. Whatever goes wrong is a
 * ModelLoadError naming the file and the problem in one line.
 */
import { ModelFile } from '../../schemas/models.js';
import type { Limits } from '../config/config.js';
import { type ModelDescription, type ResolvedModel, resolveModel } from '../inference/model.js';
import { ProblemError, jsonPath } from '../errors/problem-error.js';
import { bidirectionalOf, cellOf, gateCount, outputFeatures } from '../engine/index.js';
import { MAX_MODEL_FILE_BYTES, RepositoryFileError, type RepositoryFiles } from './repository-files.js';
import { TfjsModelError, isTfjsModel, loadTfjsModel } from './tfjs-import.js';
import { LabelsError, type LabelsTarget, layerLabelsTarget, readLabels } from './labels.js';
import { CLASSIFIER_RULE, onnxClassifiers } from './onnx/classifier.js';
import { OnnxModelError } from './onnx/decode.js';
import { type OnnxProgram, type OnnxSource, loadOnnxProgram } from './onnx/program.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import type { ServedLayers } from '../inference/layer-plan.js';
import { type ModelConfig, defaultModelConfig } from './model-config/model-config.js';

/** Names are directory names a URL path segment can carry as they are. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Versions are positive integers, as in KServe and Triton repositories; the largest is the latest. */
export const VERSION = /^[1-9][0-9]*$/;

/** A model of the repository: ours or TF.js (`model.json`, run by planForward), or an ONNX graph (`model.onnx`). */
export type ServedModel = RnnServedModel | OnnxServedModel;

export interface RnnServedModel {
  readonly kind: 'rnn';
  readonly name: string;
  readonly version: string;
  /** The file it came from, relative to the repository: NAME/VERSION/model.json (clients may see it). */
  readonly file: string;
  readonly description: ModelDescription;
  readonly model: ResolvedModel;
  /** The one-hot order of `text`, or null when the model takes only numeric inputs. */
  readonly vocabulary: string[] | null;
  /** A softmax classifier's class labels (labels.txt beside model.json), one per output feature; absent: none. */
  readonly labels?: readonly string[] | null;
  /** The model's configuration (config.pbtxt, or the defaults without one). */
  readonly config: ModelConfig;
}

/** A served layer model as its plan takes it (inference/layer-plan.ts). */
export function servedLayers(served: RnnServedModel): ServedLayers {
  return {
    name: served.name,
    version: served.version,
    file: served.file,
    model: served.model,
    vocabulary: served.vocabulary,
    labels: served.labels ?? null,
  };
}

/** An ONNX graph (`NAME/VERSION/model.onnx`), checked and planned once at load (src/models/onnx/). */
export interface OnnxServedModel {
  readonly kind: 'onnx';
  readonly name: string;
  readonly version: string;
  /** NAME/VERSION/model.onnx */
  readonly file: string;
  readonly program: OnnxProgram;
  /** Its model.onnx bytes, shared with the compute pool's workers, which decode the program from them. */
  readonly source: OnnxSource;
  /** Class labels (labels.txt beside model.onnx), one per class of its classifier outputs; absent: none. */
  readonly labels?: readonly string[] | null;
  /** The model's configuration (config.pbtxt, or the defaults without one). */
  readonly config: ModelConfig;
}

/** A model left out (MODELS_ON_ERROR=skip), as /readyz lists it: repository-relative paths only. */
export interface SkippedModel {
  readonly name: string;
  readonly version: string;
  /** The file or directory at fault, relative to the repository. */
  readonly file: string;
  /** One line: `file: problem`, the file relative to the repository. */
  readonly error: string;
}

/**
 * A model that could not be loaded. `file` is repository-relative (`hello/1/model.json`); the message is
 * one line, `path: problem`, with the path as configured (`models/hello/1/model.json` when
 * MODELS_DIR=./models), for the start-up line on stderr; `relativeMessage` is the same with `file`, for
 * what clients see. A problem at a line of the file (config.pbtxt) names it: `hello/config.pbtxt:7: ...`.
 */
export class ModelLoadError extends Error {
  readonly problem: string;

  constructor(
    readonly file: string,
    problem: string,
    /** `file` as configured (MODELS_DIR joined with it), for the start-up line. */
    readonly shown: string = file,
    /** The line of the file at fault (1-based), or 0. */
    readonly line = 0,
  ) {
    const text = problem.replace(/\s*\n\s*/g, ' ');
    super(`${shown}${line > 0 ? `:${line}` : ''}: ${text}`);
    this.name = 'ModelLoadError';
    this.problem = text;
  }

  get relativeMessage(): string {
    return `${this.file}${this.line > 0 ? `:${this.line}` : ''}: ${this.problem}`;
  }
}

/** One problem of a parsed file, as `path: message` (`$` for the whole file). */
function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return `${jsonPath(issue.path)}: ${issue.message}`;
}

/**
 * The model of `file` (repository-relative NAME/VERSION/model.json), with its configuration (checked against it
 * by the caller). Problems throw a ModelLoadError; whatever else a loader throws (a bug meeting a file we did not
 * foresee) becomes one too, so that a bad model never crashes the process with a stack trace, and
 * MODELS_ON_ERROR=skip can leave it out.
 */
export async function loadModelFile(
  files: RepositoryFiles,
  file: string,
  name: string,
  version: string,
  limits: Limits,
  cache: SeededWeightsCache,
  config: ModelConfig = defaultModelConfig(),
): Promise<ServedModel> {
  const refuse = (problem: string) => new ModelLoadError(file, problem, files.shown(file));
  try {
    const served = await parseModelFile(files, file, name, version, limits, cache, config, refuse);
    const target = served.kind === 'onnx' ? onnxLabelsTarget(served.program) : layerLabelsTarget(served.model);
    const labels = await readLabels(files, file.slice(0, file.lastIndexOf('/')), target);
    return labels === null ? served : { ...served, labels };
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    if (error instanceof LabelsError) throw new ModelLoadError(error.file, error.message, files.shown(error.file));
    if (error instanceof RepositoryFileError || error instanceof TfjsModelError || error instanceof OnnxModelError)
      throw refuse(error.message);
    // A system error's message names the absolute path: keep its code only.
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(`cannot be loaded (${code ?? `${(error as Error).name}: ${(error as Error).message}`})`);
  }
}

async function parseModelFile(
  files: RepositoryFiles,
  file: string,
  name: string,
  version: string,
  limits: Limits,
  cache: SeededWeightsCache,
  config: ModelConfig,
  refuse: (problem: string) => ModelLoadError,
): Promise<ServedModel> {
  const bytes = await files.read(file, { max: MAX_MODEL_FILE_BYTES, limit: 'MAX_MODEL_FILE_BYTES' });
  if (file.endsWith('.onnx'))
    return { kind: 'onnx', name, version, file, program: loadOnnxProgram(bytes), source: sharedSource(bytes), config };
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw refuse(`is not valid JSON: ${(error as Error).message}`);
  }
  if (isTfjsModel(json)) {
    // The TF.js Layers format (model.json + weight shards, as tfjs saves them), told apart by modelTopology.
    const directory = file.slice(0, file.lastIndexOf('/'));
    const imported = await loadTfjsModel(files, directory, json, limits, cache);
    return {
      kind: 'rnn',
      name,
      version,
      file,
      description: imported.description,
      model: imported.model,
      vocabulary: null,
      config,
    };
  }
  const parsed = ModelFile.safeParse(json);
  if (!parsed.success) throw refuse(describeIssue(parsed.error.issues[0]));
  const { format: _format, inputDim, vocabulary: given, ...description } = parsed.data;
  if (inputDim > limits.maxFeatures)
    throw refuse(`inputDim: is ${inputDim}; the limit is ${limits.maxFeatures} (MAX_FEATURES)`);
  let vocabulary: string[] | null = null;
  if (given !== undefined) {
    vocabulary = typeof given === 'string' ? [...given] : [...given];
    if (vocabulary.length !== inputDim) {
      throw refuse(
        `vocabulary: has ${vocabulary.length} tokens; expected ${inputDim} (inputDim: one per input feature)`,
      );
    }
    if (new Set(vocabulary).size !== vocabulary.length) throw refuse('vocabulary: repeats a token');
  }
  try {
    const model = resolveModel(description, inputDim, limits, cache);
    // The resolved model holds the weights; the description keeps the rest (what a forward request spreads in).
    const { weights: _keras, pytorchWeights: _pytorch, onnxWeights: _onnx, ...rest } = description;
    return { kind: 'rnn', name, version, file, description: rest, model, vocabulary, config };
  } catch (error) {
    if (error instanceof ProblemError) throw refuse(error.message);
    throw error;
  }
}

/**
 * What an ONNX graph's labels.txt must match: the classes of its classifier outputs, which must then all have the
 * same count (one labels file names the classes of each).
 */
function onnxLabelsTarget(program: OnnxProgram): LabelsTarget {
  const classifiers = onnxClassifiers(program);
  if (classifiers.length === 0)
    return {
      notClassifier: `no output of the graph is a classifier's (${CLASSIFIER_RULE}); labels name the classes of one`,
    };
  const [first, ...others] = classifiers;
  const other = others.find((c) => c.classes !== first.classes);
  if (other !== undefined)
    return {
      notClassifier: `the graph's classifier outputs '${first.output}' (${first.classes} classes) and '${other.output}' (${other.classes}) disagree on the class count`,
    };
  const named = classifiers.map((c) => `'${c.output}'`).join(', ');
  return { classes: first.classes, per: `class of output ${named} (${first.operator} over its last axis)` };
}

/** Ids of the ONNX sources loaded in this process (a worker keys its decoded programs by them). */
let lastSourceId = 0;

/**
 * A model.onnx's bytes, already in a SharedArrayBuffer (a model loaded on another thread), with an id of this
 * process: a graph loaded again, or on another thread, has a new id.
 */
export function adoptSource(shared: Uint8Array): OnnxSource {
  lastSourceId += 1;
  return { id: lastSourceId, bytes: shared };
}

/**
 * A checked model.onnx's bytes in a SharedArrayBuffer: a task names them (by id) and hands them over without a copy;
 * a worker decodes them once. A copy of the file's bytes is held for as long as the model is served.
 */
function sharedSource(bytes: Uint8Array): OnnxSource {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return adoptSource(shared);
}

/** The bytes of every typed array reachable from `value` (each buffer counted once). */
function typedBytes(value: unknown, seen = new Set<unknown>(), buffers = new Set<ArrayBufferLike>()): number {
  if (typeof value !== 'object' || value === null || seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    if (buffers.has(value.buffer) && value.byteLength < value.buffer.byteLength) return 0;
    buffers.add(value.buffer);
    return value.byteLength;
  }
  let bytes = 0;
  const entries = value instanceof Map ? value.values() : Object.values(value);
  for (const entry of entries) bytes += typedBytes(entry, seen, buffers);
  return bytes;
}

/** Bytes of float32 weights of a seeded model: every kernel, recurrent kernel and bias its spec implies. */
function seededWeightsBytes(model: ResolvedModel): number {
  const { spec } = model;
  let values = 0;
  spec.layers.forEach((layer, k) => {
    const inputs = k === 0 ? model.inputDim : outputFeatures(spec, k - 1);
    const directions = bidirectionalOf(spec, k) === null ? 1 : 2;
    // Kernel, recurrent kernel, and up to two biases (a GRU with resetAfter has two).
    values += directions * gateCount(cellOf(layer)) * layer.hiddenSize * (inputs + layer.hiddenSize + 2);
  });
  return values * 4;
}

/**
 * What a loaded model holds while it is served, estimated from what it holds: a layer model's weights (float32) and
 * the float64 panels its passes pack them into on first use (twice as large again), or for seeded weights the set its
 * requests build; an ONNX graph's file bytes (shared with the compute workers) and its decoded initializers, with the
 * panels of its recurrent nodes. Each compute worker that runs a graph also keeps its own decoded copy (not counted).
 */
export function residentBytes(served: ServedModel): number {
  if (served.kind === 'onnx') return served.source.bytes.byteLength + 3 * typedBytes(served.program.graph.initializers);
  const { model } = served;
  const held = model.seed === null ? typedBytes(model.weights) : seededWeightsBytes(model);
  return 3 * held + typedBytes(model.embedding) + typedBytes(model.head);
}
