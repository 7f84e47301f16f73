/**
 * The model repository: `MODELS_DIR/NAME/[config.pbtxt]` and `NAME/VERSION/model.json` or `model.onnx`, loaded and
 * validated at start-up, then kept as MODEL_CONTROL_MODE says (model-lifecycle.ts: `none`, `poll`, `explicit`).
 * What routes and the serving core use: the models served now (`get`, `names`, `versions`), a model held for the
 * length of a request (`acquire` → a lease to `release`), the index of every model and version with its state,
 * the repository extension's load and unload, and the news of versions leaving service (`onRetire`).
 *
 * A bad model at start-up stops it with one line naming the file and the problem (MODELS_ON_ERROR=fail), or is left
 * out and listed (skip). After start-up a failure never stops the server: the version is listed UNAVAILABLE with its
 * reason, and the last good one keeps serving.
 */
import { type Limits, type Models, defaultConfig } from '../config/config.js';
import { type ModelConfig, defaultModelConfig } from './model-config/model-config.js';
import { ProblemError } from '../errors/problem-error.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import {
  ModelLoadError,
  type OnnxServedModel,
  type RnnServedModel,
  type ServedModel,
  type SkippedModel,
  loadModelFile,
} from './model-file.js';
import {
  type LifecycleLog,
  ModelLifecycle,
  type ModelControlMode,
  type VersionLoadRequest,
  type VersionLoader,
} from './model-lifecycle.js';
import {
  type IndexEntry,
  type ModelLease,
  type ModelMemory,
  ModelRegistry,
  type RegistryEvent,
  type RetireListener,
} from './model-registry.js';
import { RepositoryFiles } from './repository-files.js';

export {
  ModelLoadError,
  type OnnxServedModel,
  type RnnServedModel,
  type ServedModel,
  type SkippedModel,
  loadModelFile,
  servedLayers,
} from './model-file.js';
export type {
  IndexEntry,
  ModelLease,
  ModelMemory,
  ModelState,
  RegistryEvent,
  RetireListener,
} from './model-registry.js';
export type { LifecycleLog, ModelControlMode, VersionLoadRequest, VersionLoader } from './model-lifecycle.js';

/** How many times something happened to a model version, by label: `outcome` is ok, failed or no_memory. */
export interface LifecycleCount {
  readonly model: string;
  readonly version: string;
  readonly outcome?: string;
  readonly count: number;
}

/** Loads by model, version and outcome, and unloads (frees) by model and version, since start-up. */
class LifecycleCounts {
  readonly #loads = new Map<string, LifecycleCount>();
  readonly #unloads = new Map<string, LifecycleCount>();

  record(event: RegistryEvent): void {
    if (event.kind === 'loaded' || event.kind === 'load-failed') {
      const outcome = event.kind === 'loaded' ? 'ok' : event.outcome;
      const key = `${event.name}\u0000${event.version}\u0000${outcome}`;
      const count = this.#loads.get(key)?.count ?? 0;
      this.#loads.set(key, { model: event.name, version: event.version, outcome, count: count + 1 });
    } else if (event.kind === 'unloaded') {
      const key = `${event.name}\u0000${event.version}`;
      const count = this.#unloads.get(key)?.count ?? 0;
      this.#unloads.set(key, { model: event.name, version: event.version, count: count + 1 });
    }
  }

  get loads(): LifecycleCount[] {
    return [...this.#loads.values()];
  }

  get unloads(): LifecycleCount[] {
    return [...this.#unloads.values()];
  }
}

/** A served model without its configuration (`ModelRepository.serving` gives it the defaults). */
export type UnconfiguredModel =
  | (Omit<RnnServedModel, 'config'> & { readonly config?: ModelConfig })
  | (Omit<OnnxServedModel, 'config'> & { readonly config?: ModelConfig });

export class ModelRepository {
  /**
   * A repository serving these models and nothing else (MODEL_CONTROL_MODE none, no directory): for a core or
   * routes under test that need models without files.
   */
  static serving(models: readonly UnconfiguredModel[], options: RepositoryOptions = {}): ModelRepository {
    const registry = new ModelRegistry(options.memory ?? null, options.retryAfterSeconds ?? 1);
    const counts = new LifecycleCounts();
    registry.onEvent((event) => counts.record(event));
    for (const model of models)
      registry.install({ ...model, config: model.config ?? defaultModelConfig() } as ServedModel);
    const none: VersionLoader = {
      load: async ({ file }) => {
        throw new ModelLoadError(file, 'is not read: this repository serves the models it was given');
      },
      close: async () => {},
    };
    const settings = { dir: '', onError: 'fail', control: 'none', pollSeconds: 5, startupModels: '*' } as const;
    return new ModelRepository(
      registry,
      new ModelLifecycle(registry, settings, defaultConfig.limits, none, none, null),
      counts,
    );
  }

  constructor(
    private readonly registry: ModelRegistry,
    private readonly lifecycle: ModelLifecycle,
    /** Counted from before start-up (the metrics read them). */
    readonly counts: LifecycleCounts,
  ) {}

  /** Names of the models with a READY version, in alphabetical order. */
  names(): string[] {
    return this.registry.names();
  }

  /** The READY versions of a model, oldest first. */
  versions(name: string): readonly ServedModel[] {
    return this.registry.versions(name);
  }

  /**
   * The named version, or the latest READY one; 404 naming what is missing and what exists (and why a version is not
   * READY), 503 + Retry-After while it is LOADING.
   */
  get(name: string, version?: string): ServedModel {
    return this.registry.get(name, version);
  }

  /**
   * As `get`, and holds the model until `release()` (call it once the answer is done): a version replaced, removed
   * or unloaded meanwhile serves its leases to the end and is freed after the last.
   */
  acquire(name: string, version?: string): ModelLease {
    return this.registry.acquire(name, version);
  }

  /**
   * Calls `listener(name, version, served)` when a loaded version leaves service (replaced by a new load of its
   * files, removed from the repository, deselected by its version policy, or unloaded): requests already holding it
   * finish, sequences on it should end. Returns what removes the listener.
   */
  onRetire(listener: RetireListener): () => void {
    return this.registry.onRetire(listener);
  }

  /** Loads, failures, retirements and unloads (metrics, logs). Returns what removes the listener. */
  onEvent(listener: (event: RegistryEvent) => void): () => void {
    return this.registry.onEvent(listener);
  }

  /** Every version of `name` the repository knows, with its state. */
  entries(name: string): IndexEntry[] {
    return this.registry.entries(name);
  }

  /** Every model and version the repository has loaded or tried, with its state (what the state metric shows). */
  states(): IndexEntry[] {
    return this.registry.index();
  }

  /** The repository index (POST /v2/repository/index): every model and version with its state and reason. */
  index(readyOnly = false): Promise<IndexEntry[]> {
    return this.lifecycle.index(readyOnly);
  }

  /** Models and versions that failed to load and serve nothing, as /readyz lists them (`skippedModels`). */
  get skipped(): SkippedModel[] {
    return this.registry.skipped();
  }

  get mode(): ModelControlMode {
    return this.lifecycle.mode;
  }

  /** Bytes of the memory budget held by loaded models (those finishing their last requests included). */
  get residentBytes(): number {
    return this.registry.residentBytes;
  }

  #explicitOnly(action: string, name: string): void {
    if (this.lifecycle.mode === 'explicit') return;
    // Triton's words, which its clients look for.
    throw new ProblemError(
      'model-control-disabled',
      `failed to ${action} '${name}': explicit model load / unload is not allowed: MODEL_CONTROL_MODE is ${this.lifecycle.mode}` +
        `${this.lifecycle.mode === 'poll' ? ' (the repository is polled)' : ''}; start the server with MODEL_CONTROL_MODE=explicit to load and unload models through this API`,
    );
  }

  /** Loads (or reloads) `name` from MODELS_DIR; `config`: ModelConfig as JSON, used instead of its config.pbtxt. */
  async load(name: string, config: string | null = null): Promise<void> {
    this.#explicitOnly('load', name);
    await this.lifecycle.load(name, config);
  }

  /** Takes `name` out of service: its versions finish their requests, then are freed. */
  async unload(name: string): Promise<void> {
    this.#explicitOnly('unload', name);
    await this.lifecycle.unload(name);
  }

  /**
   * Scans MODELS_DIR once now and applies what two scans in a row agree on, as each poll does (poll mode only: in the
   * other modes nothing follows the files).
   */
  async poll(): Promise<void> {
    if (this.lifecycle.mode !== 'poll') throw new Error(`MODEL_CONTROL_MODE is ${this.lifecycle.mode}: nothing polls`);
    await this.lifecycle.pollNow();
  }

  /** Starts polling MODELS_DIR (MODEL_CONTROL_MODE=poll; nothing otherwise). */
  startPolling(): void {
    this.lifecycle.startPolling();
  }

  /** Stops polling, waits for a load in progress, and stops the loader's thread. */
  close(): Promise<void> {
    return this.lifecycle.close();
  }
}

/** Loads versions in this thread: at start-up, and after it when no other loader is given. */
export function inThreadLoader(cache: SeededWeightsCache): VersionLoader {
  const repositories = new Map<string, Promise<RepositoryFiles | null>>();
  return {
    async load({ dir, file, name, version, limits, config }: VersionLoadRequest): Promise<ServedModel> {
      let files = repositories.get(dir);
      if (files === undefined) {
        files = RepositoryFiles.at(dir);
        repositories.set(dir, files);
      }
      const repository = await files;
      if (repository === null) throw new Error(`MODELS_DIR ${dir} is not a directory`);
      return loadModelFile(repository, file, name, version, limits, cache, config);
    },
    close: async () => {},
  };
}

export interface RepositoryOptions {
  /** Where loaded models are charged (the memory budget); none: they are not. */
  readonly memory?: ModelMemory | null;
  /** Loads after start-up (src/runtime/model-loader.ts: a worker thread); default: in this thread. */
  readonly later?: VersionLoader;
  /** Log lines of model changes after start-up. */
  readonly log?: LifecycleLog | null;
  /** Retry-After of the 503 for a version still loading. */
  readonly retryAfterSeconds?: number;
}

/**
 * Reads the repository at `settings.dir` and loads its models as the control mode says (a missing directory is an
 * empty repository: the default `./models` need not exist). With MODELS_ON_ERROR=fail a bad model rejects with a
 * ModelLoadError; with skip it is listed (`skipped`, and UNAVAILABLE in the index).
 */
export async function loadRepository(
  settings: Pick<Models, 'dir' | 'onError'> & Partial<Models>,
  limits: Limits,
  cache: SeededWeightsCache,
  options: RepositoryOptions = {},
): Promise<ModelRepository> {
  const registry = new ModelRegistry(options.memory ?? null, options.retryAfterSeconds ?? 1);
  const counts = new LifecycleCounts();
  registry.onEvent((event) => counts.record(event));
  const initial = inThreadLoader(cache);
  const lifecycle = new ModelLifecycle(
    registry,
    {
      dir: settings.dir,
      onError: settings.onError,
      control: settings.control ?? 'none',
      pollSeconds: settings.pollSeconds ?? 5,
      startupModels: settings.startupModels ?? '*',
    },
    limits,
    initial,
    options.later ?? initial,
    options.log ?? null,
  );
  try {
    await lifecycle.start();
  } catch (error) {
    await lifecycle.close();
    throw error;
  }
  return new ModelRepository(registry, lifecycle, counts);
}
