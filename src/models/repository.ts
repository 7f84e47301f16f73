/**
 * The model repository: `MODELS_DIR/NAME/VERSION/model.json`, read and validated once at start-up. Each
 * file is ours (format rnn-serve/v1) or a TF.js Layers model (src/models/tfjs-import.ts); ours is checked against the
 * ModelFile schema and resolved by resolveModel under the configured limits, so
 * a served model's weights are built once and every request reuses them. A bad model stops start-up with one
 * line naming the file and the problem (MODELS_ON_ERROR=fail), or is left out and reported (skip).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFile } from '../../schemas/models.js';
import type { Limits, Models } from '../config/config.js';
import { type ModelDescription, type ResolvedModel, resolveModel } from '../inference/model.js';
import { ProblemError, jsonPath } from '../errors/problem-error.js';
import { TfjsModelError, isTfjsModel, loadTfjsModel } from './tfjs-import.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';

/** Names are directory names a URL path segment can carry as they are. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Versions are positive integers, as in KServe and Triton repositories; the largest is the latest. */
const VERSION = /^[1-9][0-9]*$/;

export interface ServedModel {
  readonly name: string;
  readonly version: string;
  /** The file it came from: MODELS_DIR/NAME/VERSION/model.json. */
  readonly file: string;
  readonly description: ModelDescription;
  readonly model: ResolvedModel;
  /** The one-hot order of `text`, or null when the model takes only numeric inputs. */
  readonly vocabulary: string[] | null;
}

export interface SkippedModel {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly error: string;
}

/** A model that could not be loaded: the message is one line, `file: problem`. */
export class ModelLoadError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelLoadError';
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

export async function loadModelFile(
  file: string,
  name: string,
  version: string,
  limits: Limits,
  cache: SeededWeightsCache,
): Promise<ServedModel> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'is missing'
        : `is not valid JSON: ${(error as Error).message}`;
    throw new ModelLoadError(file, reason);
  }
  if (isTfjsModel(json)) {
    // The TF.js Layers format (model.json + weight shards, as tfjs saves them), told apart by modelTopology.
    try {
      const imported = await loadTfjsModel(file, json, limits, cache);
      return { name, version, file, description: imported.description, model: imported.model, vocabulary: null };
    } catch (error) {
      if (error instanceof TfjsModelError) throw new ModelLoadError(file, error.message);
      throw error;
    }
  }
  const parsed = ModelFile.safeParse(json);
  if (!parsed.success) throw new ModelLoadError(file, describeIssue(parsed.error.issues[0]));
  const { format: _format, inputDim, vocabulary: given, ...description } = parsed.data;
  if (inputDim > limits.maxFeatures)
    throw new ModelLoadError(file, `inputDim: is ${inputDim}; the limit is ${limits.maxFeatures} (MAX_FEATURES)`);
  let vocabulary: string[] | null = null;
  if (given !== undefined) {
    vocabulary = typeof given === 'string' ? [...given] : [...given];
    if (vocabulary.length !== inputDim) {
      throw new ModelLoadError(
        file,
        `vocabulary: has ${vocabulary.length} tokens; expected ${inputDim} (inputDim: one per input feature)`,
      );
    }
    if (new Set(vocabulary).size !== vocabulary.length) throw new ModelLoadError(file, 'vocabulary: repeats a token');
  }
  try {
    const model = resolveModel(description, inputDim, limits, cache);
    return { name, version, file, description, model, vocabulary };
  } catch (error) {
    if (error instanceof ProblemError) throw new ModelLoadError(file, error.message);
    throw error;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

/**
 * Reads every `NAME/VERSION/model.json` under `settings.dir`. A missing directory is an empty repository
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
  if (!(await isDirectory(settings.dir))) return new ModelRepository([]);
  const attempt = async (name: string, version: string, load: () => Promise<ServedModel>) => {
    try {
      served.push(await load());
    } catch (error) {
      if (!(error instanceof ModelLoadError) || settings.onError === 'fail') throw error;
      skipped.push({ name, version, file: error.file, error: error.message });
    }
  };
  for (const name of (await readdir(settings.dir)).sort()) {
    const modelDir = join(settings.dir, name);
    if (name.startsWith('.') || !(await isDirectory(modelDir))) continue;
    if (!NAME.test(name)) {
      await attempt(name, '', async () => {
        throw new ModelLoadError(
          modelDir,
          'is not a valid model name (letters, digits, _ . -; not starting with _ . -)',
        );
      });
      continue;
    }
    for (const version of (await readdir(modelDir)).sort()) {
      const versionDir = join(modelDir, version);
      if (version.startsWith('.') || !(await isDirectory(versionDir))) continue;
      const file = join(versionDir, 'model.json');
      await attempt(name, version, async () => {
        if (!VERSION.test(version))
          throw new ModelLoadError(versionDir, 'is not a version number (a positive integer without leading zeros)');
        return loadModelFile(file, name, version, limits, cache);
      });
    }
  }
  return new ModelRepository(served, skipped);
}
