/**
 * What the repository serves at this moment: every model and version with its state (Triton's READY, LOADING,
 * UNLOADING, UNAVAILABLE, and the reason when not READY), the loaded model of each ready version, and the requests
 * holding each loaded model (leases).
 *
 * A version is swapped at once: `install` puts a newly loaded model in place of the one serving, so requests already
 * holding the old one finish on it while new ones get the new one. A replaced or removed model is retired: it takes
 * no new request, the retire listeners are told (sequences on it end), and it is freed (its memory given back to the
 * budget) when its last lease is released. A version that fails to load never replaces one that serves.
 */
import { ProblemError } from '../errors/problem-error.js';
import { type ModelLoadError, type ServedModel, type SkippedModel, residentBytes } from './model-file.js';

export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

/** One row of the repository index, as Triton's repository extension answers it. */
export interface IndexEntry {
  readonly name: string;
  /** Absent for a model whose directory or configuration failed before any version was read. */
  readonly version?: string;
  readonly state: ModelState;
  /** Why it is not READY ('' when it is; for a READY version, a newer load of it that failed). */
  readonly reason: string;
}

/** A loaded model held by one request: call `release` once when its answer is done (idempotent). */
export interface ModelLease {
  readonly served: ServedModel;
  release(): void;
}

/**
 * Where loaded models are charged: the memory budget (src/runtime/memory-budget.ts MemoryBudget). `holdModel`
 * returns what gives the bytes back, or throws an Error whose message says why they do not fit.
 */
export interface ModelMemory {
  holdModel(bytes: number, what: string): () => void;
}

/** A model version leaving service (removed, unloaded or replaced): `served` is the model that no longer serves. */
export type RetireListener = (name: string, version: string, served: ServedModel) => void;

/** What happens to models, for metrics and logs. */
export type RegistryEvent =
  | { readonly kind: 'loaded'; readonly name: string; readonly version: string; readonly bytes: number }
  | {
      readonly kind: 'load-failed';
      readonly name: string;
      readonly version: string;
      /** `failed`: the files or configuration; `no_memory`: the memory budget. */
      readonly outcome: 'failed' | 'no_memory';
      readonly reason: string;
    }
  | { readonly kind: 'retired'; readonly name: string; readonly version: string; readonly leases: number }
  | { readonly kind: 'unloaded'; readonly name: string; readonly version: string };

/** A model refused because it does not fit in the memory budget (the lifecycle tries it again at the next poll). */
export class ModelMemoryError extends Error {}

interface Instance {
  readonly served: ServedModel;
  readonly bytes: number;
  leases: number;
  retired: boolean;
  readonly release: () => void;
}

interface VersionRecord {
  state: ModelState;
  reason: string;
  /** The serving model (READY), the one draining (UNLOADING), else null. */
  instance: Instance | null;
  /** The file at fault when the version failed to load (for /readyz's skippedModels). */
  failedFile: string | null;
  /** UNAVAILABLE after draining (an explicit unload) instead of leaving the index. */
  keepAfterDrain: boolean;
}

interface ModelRecord {
  readonly versions: Map<string, VersionRecord>;
  /** A failure of the model as a whole (its directory, its config.pbtxt), with the file at fault. */
  failure: { readonly reason: string; readonly file: string } | null;
}

/** Versions by number; directories that are not numbers (listed with their problem) after them, by name. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [/^[0-9]+$/.test(a), /^[0-9]+$/.test(b)];
  if (x && y) return Number(a) - Number(b);
  if (x !== y) return x ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
const byNumber = compareVersions;
const NOTHING = () => {};

export class ModelRegistry {
  readonly #models = new Map<string, ModelRecord>();
  readonly #retireListeners = new Set<RetireListener>();
  readonly #eventListeners = new Set<(event: RegistryEvent) => void>();
  /** Retired models whose last requests are still running. */
  readonly #draining = new Set<Instance>();

  constructor(
    private readonly memory: ModelMemory | null,
    private readonly retryAfterSeconds: number,
  ) {}

  onRetire(listener: RetireListener): () => void {
    this.#retireListeners.add(listener);
    return () => this.#retireListeners.delete(listener);
  }

  onEvent(listener: (event: RegistryEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  #emit(event: RegistryEvent): void {
    for (const listener of this.#eventListeners) listener(event);
  }

  #model(name: string): ModelRecord {
    let model = this.#models.get(name);
    if (model === undefined) {
      model = { versions: new Map(), failure: null };
      this.#models.set(name, model);
    }
    return model;
  }

  #record(name: string, version: string): VersionRecord {
    const versions = this.#model(name).versions;
    let record = versions.get(version);
    if (record === undefined) {
      record = { state: 'UNAVAILABLE', reason: '', instance: null, failedFile: null, keepAfterDrain: false };
      versions.set(version, record);
    }
    return record;
  }

  /** Names of the models with a READY version, in alphabetical order. */
  names(): string[] {
    return [...this.#models.keys()].filter((name) => this.versions(name).length > 0).sort();
  }

  /** Every model the registry knows of, served or not. */
  known(): string[] {
    return [...this.#models.keys()].sort();
  }

  /** The READY versions' models, oldest first. */
  versions(name: string): ServedModel[] {
    const model = this.#models.get(name);
    if (model === undefined) return [];
    return [...model.versions.entries()]
      .filter(([, record]) => record.state === 'READY')
      .sort(([a], [b]) => byNumber(a, b))
      .map(([, record]) => record.instance!.served);
  }

  /** The state of every version of `name` (and its failure as a whole), as index rows, oldest version first. */
  entries(name: string): IndexEntry[] {
    const model = this.#models.get(name);
    if (model === undefined) return [];
    const rows: IndexEntry[] = [...model.versions.entries()]
      .sort(([a], [b]) => byNumber(a, b))
      .map(([version, record]) => ({ name, version, state: record.state, reason: record.reason }));
    if (model.failure !== null) rows.unshift({ name, state: 'UNAVAILABLE', reason: model.failure.reason });
    return rows;
  }

  /** Every row of every model, by name. */
  index(): IndexEntry[] {
    return this.known().flatMap((name) => this.entries(name));
  }

  /** Versions and models that failed to load, as /readyz lists them. */
  skipped(): SkippedModel[] {
    const skipped: SkippedModel[] = [];
    for (const name of this.known()) {
      const model = this.#models.get(name)!;
      if (model.failure !== null)
        skipped.push({ name, version: '', file: model.failure.file, error: model.failure.reason });
      for (const [version, record] of [...model.versions.entries()].sort(([a], [b]) => byNumber(a, b)))
        if (record.failedFile !== null && record.state === 'UNAVAILABLE')
          skipped.push({ name, version, file: record.failedFile, error: record.reason });
    }
    return skipped;
  }

  /** Whether `name` has `version` in a state other than UNAVAILABLE (loaded, loading or draining). */
  has(name: string, version: string): boolean {
    const state = this.#models.get(name)?.versions.get(version)?.state;
    return state !== undefined && state !== 'UNAVAILABLE';
  }

  /** The model serving `name` (`version`, or the latest READY), or the problem saying why there is none. */
  #resolve(name: string, version?: string): Instance {
    const model = this.#models.get(name);
    const ready = this.versions(name).map((served) => served.version);
    if (model !== undefined && model.versions.size === 0 && model.failure !== null)
      throw new ProblemError('not-found', `model '${name}' is UNAVAILABLE: ${model.failure.reason}`);
    if (model === undefined || (ready.length === 0 && model.versions.size === 0)) {
      const known = this.names();
      throw new ProblemError(
        'not-found',
        `there is no model '${name}' (${known.length === 0 ? 'no models are served' : `models: ${known.join(', ')}`})`,
      );
    }
    const notReady = (detail: string): never => {
      throw new ProblemError('not-ready', `${detail}; retry after ${this.retryAfterSeconds} s`, [], {
        'retry-after': String(this.retryAfterSeconds),
      });
    };
    if (version === undefined) {
      if (ready.length > 0) return model.versions.get(ready[ready.length - 1])!.instance!;
      const states = [...model.versions.entries()].sort(([a], [b]) => byNumber(a, b));
      if (states.some(([, record]) => record.state === 'LOADING'))
        notReady(`model '${name}' is LOADING: no version is ready yet`);
      const described = states.map(([v, r]) => `${v}: ${r.state}${r.reason === '' ? '' : ` (${r.reason})`}`);
      throw new ProblemError('not-found', `model '${name}' has no version ready (${described.join('; ')})`);
    }
    const record = model.versions.get(version);
    if (record === undefined)
      throw new ProblemError(
        'not-found',
        `model '${name}' has no version '${version}' (versions: ${ready.length === 0 ? 'none ready' : ready.join(', ')})`,
      );
    if (record.state === 'READY') return record.instance!;
    if (record.state === 'LOADING') notReady(`model '${name}' version ${version} is LOADING`);
    throw new ProblemError(
      'not-found',
      `model '${name}' version ${version} is ${record.state}${record.reason === '' ? '' : `: ${record.reason}`} (versions ready: ${ready.length === 0 ? 'none' : ready.join(', ')})`,
    );
  }

  /** The named version, or the latest READY one; 404 (or 503 while it loads) naming what is missing and what exists. */
  get(name: string, version?: string): ServedModel {
    return this.#resolve(name, version).served;
  }

  /**
   * The named (or latest) version, held until `release`: a version replaced or removed meanwhile is freed only after
   * its last lease is released.
   */
  acquire(name: string, version?: string): ModelLease {
    const instance = this.#resolve(name, version);
    instance.leases += 1;
    let released = false;
    return {
      served: instance.served,
      release: () => {
        if (released) return;
        released = true;
        instance.leases -= 1;
        if (instance.retired && instance.leases === 0) this.#free(instance);
      },
    };
  }

  /**
   * Marks a version LOADING (a version that serves stays READY while its replacement loads). The reason of a failed
   * attempt stays until this one ends: a failure repeated unchanged is no news.
   */
  loading(name: string, version: string): void {
    const record = this.#record(name, version);
    if (record.state !== 'READY') Object.assign(record, { state: 'LOADING', failedFile: null });
  }

  /**
   * Charges a loaded model to the memory budget and swaps it in: it serves from now on, and the model it replaces
   * (if any) is retired. Throws a ModelMemoryError (nothing changes) when it does not fit.
   */
  install(served: ServedModel): void {
    const { name, version } = served;
    const bytes = residentBytes(served);
    let release = NOTHING;
    if (this.memory !== null) {
      try {
        release = this.memory.holdModel(bytes, `model '${name}' version ${version} (${served.file})`);
      } catch (error) {
        throw new ModelMemoryError((error as Error).message);
      }
    }
    const record = this.#record(name, version);
    const previous = record.instance;
    Object.assign(record, {
      state: 'READY',
      reason: '',
      failedFile: null,
      keepAfterDrain: false,
      instance: { served, bytes, leases: 0, retired: false, release },
    });
    this.#emit({ kind: 'loaded', name, version, bytes });
    if (previous !== null && !previous.retired) this.#retire(name, version, previous);
  }

  /**
   * A version that failed to load: UNAVAILABLE with the reason, unless a loaded model of it serves (it keeps
   * serving; the reason says what failed). Returns whether that is news: the same failure again (a poll finding the
   * same broken directory) changes nothing and is not told again.
   */
  failed(name: string, version: string, error: ModelLoadError | ModelMemoryError, file: string): boolean {
    const problem = error instanceof ModelMemoryError ? error.message : error.relativeMessage;
    const record = this.#record(name, version);
    const serves = record.state === 'READY';
    const reason = serves ? `the last load failed, the model loaded before serves: ${problem}` : problem;
    const same = record.reason === reason;
    if (serves) record.reason = reason;
    else Object.assign(record, { state: 'UNAVAILABLE', reason, failedFile: file });
    if (same) return false;
    const outcome = error instanceof ModelMemoryError ? 'no_memory' : 'failed';
    this.#emit({ kind: 'load-failed', name, version, outcome, reason: problem });
    return true;
  }

  /**
   * The model as a whole failed (its directory, its config.pbtxt): its versions that serve keep serving. Returns
   * whether that is news (see `failed`).
   */
  modelFailed(name: string, error: ModelLoadError): boolean {
    const model = this.#model(name);
    if (model.failure?.reason === error.relativeMessage) return false;
    model.failure = { reason: error.relativeMessage, file: error.file };
    this.#emit({ kind: 'load-failed', name, version: '', outcome: 'failed', reason: error.relativeMessage });
    return true;
  }

  modelRecovered(name: string): void {
    const model = this.#models.get(name);
    if (model !== undefined) model.failure = null;
  }

  /**
   * Takes a version out of service: new requests no longer get it; it is freed when its last request ends. With
   * `unloaded` (an explicit unload) it stays listed, UNAVAILABLE 'unloaded'; otherwise (its directory is gone, or
   * the version policy no longer selects it) it leaves the index once drained.
   */
  retire(name: string, version: string, unloaded: boolean): void {
    const model = this.#models.get(name);
    const record = model?.versions.get(version);
    if (model === undefined || record === undefined) return;
    const instance = record.instance;
    if (instance?.retired) {
      // Already draining: once drained it stays listed (unloaded) or leaves the index.
      record.keepAfterDrain = unloaded;
      return;
    }
    if (instance === null) {
      if (unloaded) Object.assign(record, { state: 'UNAVAILABLE', reason: 'unloaded', failedFile: null });
      else this.#forget(name, version);
      return;
    }
    Object.assign(record, {
      state: 'UNLOADING',
      reason: 'unloading: finishing its requests',
      keepAfterDrain: unloaded,
    });
    this.#retire(name, version, instance);
  }

  /** Drops a model that is gone from the repository, retiring its versions. */
  removeModel(name: string): void {
    const model = this.#models.get(name);
    if (model === undefined) return;
    model.failure = null;
    for (const version of [...model.versions.keys()]) this.retire(name, version, false);
  }

  #forget(name: string, version: string): void {
    const model = this.#models.get(name);
    if (model === undefined) return;
    model.versions.delete(version);
    if (model.versions.size === 0 && model.failure === null) this.#models.delete(name);
  }

  #retire(name: string, version: string, instance: Instance): void {
    instance.retired = true;
    this.#draining.add(instance);
    this.#emit({ kind: 'retired', name, version, leases: instance.leases });
    for (const listener of this.#retireListeners) listener(name, version, instance.served);
    if (instance.leases === 0) this.#free(instance);
  }

  #free(instance: Instance): void {
    if (!this.#draining.delete(instance)) return;
    instance.release();
    const { name, version } = instance.served;
    this.#emit({ kind: 'unloaded', name, version });
    const record = this.#models.get(name)?.versions.get(version);
    if (record?.instance !== instance) return;
    if (record.keepAfterDrain)
      Object.assign(record, { state: 'UNAVAILABLE', reason: 'unloaded', instance: null, keepAfterDrain: false });
    else this.#forget(name, version);
  }

  /** Loaded models retired and still finishing requests. */
  get draining(): number {
    return this.#draining.size;
  }

  /** Bytes charged for loaded models, draining ones included. */
  get residentBytes(): number {
    let bytes = 0;
    for (const model of this.#models.values())
      for (const record of model.versions.values())
        if (record.instance !== null && !record.instance.retired) bytes += record.instance.bytes;
    for (const instance of this.#draining) bytes += instance.bytes;
    return bytes;
  }
}
