/**
 * The model repository: `MODELS_DIR/NAME/VERSION/model.json` or `model.onnx`, read and validated once at
 * start-up. A model.json is ours (format rnn-serve/v1) or a TF.js Layers model (src/models/tfjs-import.ts); a
 * model.onnx is an ONNX graph (src/models/onnx/, Triton's file name); ours is checked against the
 * ModelFile schema and resolved by resolveModel under the configured limits, so
 * a served model's weights are built once and every request reuses them. A bad model stops start-up with one
 * line naming the file and the problem (MODELS_ON_ERROR=fail), or is left out and reported (skip).
 * Files are read through RepositoryFiles: nothing outside MODELS_DIR, nothing unbounded, and what clients
 * see names files relative to the repository (`hello/1/model.json`), never the absolute MODELS_DIR.
 */
import { readdir } from 'node:fs/promises';
import { ModelFile } from '../../schemas/models.js';
import type { Limits, Models } from '../config/config.js';
import { type ModelDescription, type ResolvedModel, resolveModel } from '../inference/model.js';
import type { ServedLayers } from '../inference/layer-plan.js';
import { ProblemError, jsonPath } from '../errors/problem-error.js';
import { MAX_MODEL_FILE_BYTES, RepositoryFileError, RepositoryFiles } from './repository-files.js';
import { TfjsModelError, isTfjsModel, loadTfjsModel } from './tfjs-import.js';
import { LabelsError, type LabelsTarget, layerLabelsTarget, readLabels } from './labels.js';
import { CLASSIFIER_RULE, onnxClassifiers } from './onnx/classifier.js';
import { OnnxModelError } from './onnx/decode.js';
import { type OnnxProgram, type OnnxSource, loadOnnxProgram } from './onnx/program.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';

/** Names are directory names a URL path segment can carry as they are. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Versions are positive integers, as in KServe and Triton repositories; the largest is the latest. */
const VERSION = /^[1-9][0-9]*$/;

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
 * what clients see.
 */
export class ModelLoadError extends Error {
  readonly problem: string;

  constructor(
    readonly file: string,
    problem: string,
    shown: string = file,
  ) {
    const line = problem.replace(/\s*\n\s*/g, ' ');
    super(`${shown}: ${line}`);
    this.name = 'ModelLoadError';
    this.problem = line;
  }

  get relativeMessage(): string {
    return `${this.file}: ${this.problem}`;
  }
}

export class ModelRepository {
  /** name → versions, oldest first. */
  readonly #models = new Map<string, ServedModel[]>();

  constructor(
    models: readonly ServedModel[],
    readonly skipped: readonly SkippedModel[] = [],
  ) {
    for (const served of models) {
      const versions = this.#models.get(served.name) ?? [];
      versions.push(served);
      versions.sort((a, b) => Number(a.version) - Number(b.version));
      this.#models.set(served.name, versions);
    }
  }

  /** Names in alphabetical order. */
  names(): string[] {
    return [...this.#models.keys()].sort();
  }

  versions(name: string): readonly ServedModel[] {
    return this.#models.get(name) ?? [];
  }

  /** The named version, or the latest; 404 naming what is missing and what exists. */
  get(name: string, version?: string): ServedModel {
    const versions = this.#models.get(name);
    if (versions === undefined) {
      const known = this.names();
      throw new ProblemError(
        'not-found',
        `there is no model '${name}' (${known.length === 0 ? 'no models are served' : `models: ${known.join(', ')}`})`,
      );
    }
    if (version === undefined) return versions[versions.length - 1];
    const found = versions.find((v) => v.version === version);
    if (found === undefined) {
      throw new ProblemError(
        'not-found',
        `model '${name}' has no version '${version}' (versions: ${versions.map((v) => v.version).join(', ')})`,
      );
    }
    return found;
  }
}

/** One problem of a parsed file, as `path: message` (`$` for the whole file). */
function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return `${jsonPath(issue.path)}: ${issue.message}`;
}

/**
 * The model of `file` (repository-relative NAME/VERSION/model.json). Problems throw a ModelLoadError;
 * whatever else a loader throws (a bug meeting a file we did not foresee) becomes one too, so that a bad
 * model never crashes start-up with a stack trace, and MODELS_ON_ERROR=skip can leave it out.
 */
export async function loadModelFile(
  files: RepositoryFiles,
  file: string,
  name: string,
  version: string,
  limits: Limits,
  cache: SeededWeightsCache,
): Promise<ServedModel> {
  const refuse = (problem: string) => new ModelLoadError(file, problem, files.shown(file));
  try {
    const served = await parseModelFile(files, file, name, version, limits, cache, refuse);
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
  refuse: (problem: string) => ModelLoadError,
): Promise<ServedModel> {
  const bytes = await files.read(file, { max: MAX_MODEL_FILE_BYTES, limit: 'MAX_MODEL_FILE_BYTES' });
  if (file.endsWith('.onnx'))
    return { kind: 'onnx', name, version, file, program: loadOnnxProgram(bytes), source: sharedSource(bytes) };
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
    return { kind: 'rnn', name, version, file, description, model, vocabulary };
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
 * A checked model.onnx's bytes in a SharedArrayBuffer: a task names them (by id) and hands them over without a copy;
 * a worker decodes them once. A copy of the file's bytes is held for as long as the model is served.
 */
function sharedSource(bytes: Uint8Array): OnnxSource {
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  lastSourceId += 1;
  return { id: lastSourceId, bytes: shared };
}

/**
 * Reads every `NAME/VERSION/model.json` (or `model.onnx`) under `settings.dir`. A missing directory is an empty repository
 * (the default `./models` need not exist); anything else wrong throws a ModelLoadError, or with `skip` is
 * left out and listed in `skipped`.
 */
export async function loadRepository(
  settings: Models,
  limits: Limits,
  cache: SeededWeightsCache,
): Promise<ModelRepository> {
  const served: ServedModel[] = [];
  const skipped: SkippedModel[] = [];
  const files = await RepositoryFiles.at(settings.dir);
  if (files === null) return new ModelRepository([]);
  /** A model (or version) that cannot be loaded: stop start-up, or leave it out and list it. */
  const refused = (name: string, version: string, error: unknown) => {
    if (!(error instanceof ModelLoadError) || settings.onError === 'fail') throw error;
    skipped.push({ name, version, file: error.file, error: error.relativeMessage });
  };
  /** Directory `rel` of the repository, or a ModelLoadError when it resolves outside (a symlink, by mistake). */
  const confined = async (rel: string) => {
    try {
      await files.resolve(rel);
    } catch (error) {
      if (error instanceof RepositoryFileError) throw new ModelLoadError(rel, error.message, files.shown(rel));
      throw error;
    }
  };
  for (const name of (await readdir(files.real)).sort()) {
    const modelDir = RepositoryFiles.path(name);
    if (name.startsWith('.') || !(await files.isDirectory(modelDir))) continue;
    let versions: string[];
    try {
      if (!NAME.test(name)) {
        const problem = 'is not a valid model name (letters, digits, _ . -; not starting with _ . -)';
        throw new ModelLoadError(modelDir, problem, files.shown(modelDir));
      }
      await confined(modelDir);
      versions = (await readdir(files.shown(modelDir))).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      refused(
        name,
        '',
        code === undefined ? error : new ModelLoadError(modelDir, `cannot be listed (${code})`, files.shown(modelDir)),
      );
      continue;
    }
    for (const version of versions) {
      const versionDir = RepositoryFiles.path(name, version);
      if (version.startsWith('.') || !(await files.isDirectory(versionDir))) continue;
      try {
        if (!VERSION.test(version)) {
          const problem = 'is not a version number (a positive integer without leading zeros)';
          throw new ModelLoadError(versionDir, problem, files.shown(versionDir));
        }
        await confined(versionDir);
        // Triton's convention for ONNX: model.onnx. A version directory holds one model file or the other.
        const onnxFile = RepositoryFiles.path(name, version, 'model.onnx');
        const jsonFile = RepositoryFiles.path(name, version, 'model.json');
        const [hasOnnx, hasJson] = [await files.exists(onnxFile), await files.exists(jsonFile)];
        if (hasOnnx && hasJson)
          throw new ModelLoadError(
            versionDir,
            'holds both model.json and model.onnx; keep one model file per version',
            files.shown(versionDir),
          );
        const file = hasOnnx ? onnxFile : jsonFile;
        served.push(await loadModelFile(files, file, name, version, limits, cache));
      } catch (error) {
        refused(name, version, error);
      }
    }
  }
  return new ModelRepository(served, skipped);
}
