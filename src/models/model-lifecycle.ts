/**
 * How the repository on disk becomes what is served (model-registry.ts), in the three model control modes:
 *
 * - `none`: every model is loaded at start-up, and nothing changes afterwards.
 * - `poll`: the same at start-up; then MODELS_DIR is scanned every MODEL_POLL_SECONDS, and models and versions that
 *   were added, changed or removed are loaded, reloaded or retired.
 * - `explicit`: MODELS_LOAD names the models loaded at start-up; afterwards models change only when the repository
 *   API (POST /v2/repository/models/{name}/load, /unload) asks.
 *
 * A model is read as Triton reads it: its config.pbtxt (optional: the defaults without one), the version directories
 * its version policy selects, each one's model file checked in full (the same checks at start-up and after), then
 * held against the configuration. After start-up, versions are loaded off the event loop (`later` loader: a worker
 * thread, src/runtime/model-loader.ts) and swapped in at once; a version that fails is listed UNAVAILABLE with its
 * reason and never replaces one that serves.
 *
 * The file rule (poll): a version, a config.pbtxt or a removal is acted on only once two scans in a row, one poll
 * apart, saw it the same (every file's path, size and modification time): a file still being written is not read
 * half-written. Writing a version elsewhere and renaming it into place is the safe way; a writer that pauses for
 * longer than MODEL_POLL_SECONDS in the middle of a file may have the half file read (and refused, while the last
 * good version keeps serving).
 */
import type { Limits } from '../config/config.js';
import { ProblemError } from '../errors/problem-error.js';
import {
  type ConfigContext,
  type ModelConfig,
  ModelConfigError,
  type VersionPolicy,
  defaultModelConfig,
  modelConfigFromJson,
  parseModelConfig,
} from './model-config/model-config.js';
import { fitModelConfig } from './model-config/model-fit.js';
import { ModelLoadError, type ServedModel } from './model-file.js';
import { type IndexEntry, ModelMemoryError, type ModelRegistry, compareVersions } from './model-registry.js';
import { RepositoryFiles } from './repository-files.js';
import {
  CONFIG_FILE,
  MAX_CONFIG_FILE_BYTES,
  type ModelScan,
  modelFileOf,
  scanModel,
  scanRepository,
} from './repository-scan.js';

export type ModelControlMode = 'none' | 'poll' | 'explicit';

export interface LifecycleSettings {
  /** MODELS_DIR as configured. */
  readonly dir: string;
  readonly onError: 'fail' | 'skip';
  readonly control: ModelControlMode;
  readonly pollSeconds: number;
  /** explicit mode: the models loaded at start-up ('*': all of them). */
  readonly startupModels: '*' | readonly string[];
}

/** What a load of one version is given: the file (repository-relative) of a model, and its configuration. */
export interface VersionLoadRequest {
  /** MODELS_DIR as configured. */
  readonly dir: string;
  readonly file: string;
  readonly name: string;
  readonly version: string;
  readonly limits: Limits;
  readonly config: ModelConfig;
}

/** Loads a version's model file in full (loadModelFile), here or on another thread. */
export interface VersionLoader {
  load(request: VersionLoadRequest): Promise<ServedModel>;
  close(): Promise<void>;
}

/** The log lines of model changes (pino's signature). */
export interface LifecycleLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** What was last loaded (or tried) for one version: its files' fingerprint and the configuration it was read with. */
interface Attempt {
  readonly fingerprint: string;
  readonly configKey: string;
  /** A refusal that may pass by itself (the memory budget): tried again at the next poll. */
  readonly transient: boolean;
  /** Whether it loaded (and serves, unless retired since). */
  readonly loaded: boolean;
}

/** Which of `versions` (numbers, ascending) a policy serves. */
export function selectVersions(policy: VersionPolicy, versions: readonly string[]): string[] {
  if (policy.kind === 'all') return [...versions];
  if (policy.kind === 'latest') return versions.slice(Math.max(0, versions.length - policy.count));
  return policy.versions.filter((v) => versions.includes(v)).sort(compareVersions);
}

/** One model's pass: how its scan is read and what it may do. */
interface SyncOptions {
  /** A load request's configuration (JSON) instead of config.pbtxt. */
  readonly override: string | null;
  readonly loader: VersionLoader;
  /** Throw the first failure (start-up with MODELS_ON_ERROR=fail). */
  readonly failFast: boolean;
  /** Versions whose files were seen the same twice in a row (poll); null: all. */
  readonly stable: ReadonlySet<string> | null;
  /** Versions seen by the previous scan and missing from this one: they are kept until a second scan agrees. */
  readonly vanishing: ReadonlySet<string>;
}

export class ModelLifecycle {
  #files: RepositoryFiles | null = null;
  /** Model changes, one at a time (polls, loads and unloads never interleave). */
  #queue: Promise<unknown> = Promise.resolve();
  /** Per model: each version's last load (or attempt). */
  readonly #attempts = new Map<string, Map<string, Attempt>>();
  /** The configuration each model was last read with (to log its ignored fields once). */
  readonly #configKeys = new Map<string, string>();
  #previous: Map<string, ModelScan> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Whether start-up is over: changes after it are logged (start-up failures are reported by the caller). */
  #started = false;
  /** Failures of the pass in progress (an explicit load answers with them). */
  #failures: string[] = [];

  constructor(
    private readonly registry: ModelRegistry,
    private readonly settings: LifecycleSettings,
    private readonly limits: Limits,
    /** Loads at start-up, before anything is served. */
    private readonly initial: VersionLoader,
    /** Loads afterwards, off the event loop. */
    private readonly later: VersionLoader,
    private readonly log: LifecycleLog | null,
  ) {}

  get mode(): ModelControlMode {
    return this.settings.control;
  }

  /** Loads the models of start-up; with MODELS_ON_ERROR=fail the first failure is thrown (a ModelLoadError). */
  async start(): Promise<void> {
    this.#files = await RepositoryFiles.at(this.settings.dir);
    if (this.#files === null) {
      this.#previous = new Map();
      this.#started = true;
      return;
    }
    const scans = await scanRepository(this.#files);
    const { startupModels } = this.settings;
    const options: SyncOptions = {
      override: null,
      loader: this.initial,
      failFast: this.settings.onError === 'fail',
      stable: null,
      vanishing: new Set(),
    };
    const explicit = this.settings.control === 'explicit' && startupModels !== '*';
    for (const scan of scans) if (!explicit || startupModels.includes(scan.name)) await this.#sync(scan, options);
    if (explicit)
      for (const name of startupModels.filter((n) => !scans.some((scan) => scan.name === n))) {
        const error = new ModelLoadError(
          name,
          'is named by MODELS_LOAD, but there is no such model directory',
          this.#files.shown(name),
        );
        this.#failed(error, () => this.registry.modelFailed(name, error), options);
      }
    this.#previous = new Map(scans.map((scan) => [scan.name, scan]));
    this.#started = true;
  }

  /** Polls the repository every MODEL_POLL_SECONDS (poll mode), until `close`. */
  startPolling(): void {
    if (this.settings.control !== 'poll' || this.#closed) return;
    const tick = () => {
      this.#timer = setTimeout(() => {
        this.#serially(() => this.poll())
          .catch((error: unknown) => this.log?.error({ err: error }, 'model repository poll failed'))
          .finally(() => {
            if (!this.#closed) tick();
          });
      }, this.settings.pollSeconds * 1000);
      this.#timer.unref();
    };
    tick();
  }

  /** One poll now, in turn with the others. */
  pollNow(): Promise<void> {
    return this.#serially(() => this.poll());
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** One scan of the repository, acting on what two scans in a row agree on (the file rule); run in turn (#serially). */
  private async poll(): Promise<void> {
    this.#files ??= await RepositoryFiles.at(this.settings.dir);
    const scans = this.#files === null ? [] : await scanRepository(this.#files);
    const current = new Map(scans.map((scan) => [scan.name, scan]));
    const previous = this.#previous ?? current;
    this.#previous = current;
    const names = new Set([...current.keys(), ...previous.keys(), ...this.registry.known(), ...this.#attempts.keys()]);
    for (const name of [...names].sort()) {
      if (this.#closed) return;
      const now = current.get(name);
      const before = previous.get(name);
      if (now === undefined && before === undefined) {
        // Gone for two scans: its versions are retired (freed once their requests end).
        this.registry.removeModel(name);
        this.#attempts.delete(name);
        this.#configKeys.delete(name);
        continue;
      }
      // Appearing, disappearing, or its config.pbtxt changing: wait for the next scan to agree.
      if (now === undefined || before === undefined || now.config !== before.config) continue;
      if ((now.problem?.relativeMessage ?? null) !== (before.problem?.relativeMessage ?? null)) continue;
      const earlier = new Map(before.versions.map((v) => [v.version, v.fingerprint]));
      const stable = new Set(
        now.versions.filter((v) => earlier.get(v.version) === v.fingerprint).map((v) => v.version),
      );
      const present = new Set(now.versions.map((v) => v.version));
      const vanishing = new Set(before.versions.map((v) => v.version).filter((v) => !present.has(v)));
      await this.#sync(now, { override: null, loader: this.later, failFast: false, stable, vanishing });
    }
  }

  /**
   * POST /v2/repository/models/{name}/load: (re)loads the model from MODELS_DIR now (explicit mode), with the
   * configuration `config` (ModelConfig as JSON) instead of its config.pbtxt when given. Resolves once its versions
   * are READY; a failure is a 400 naming each one (versions that loaded serve).
   */
  load(name: string, config: string | null): Promise<void> {
    return this.#serially(async () => {
      this.#files ??= await RepositoryFiles.at(this.settings.dir);
      const scan = this.#files === null ? null : await scanModel(this.#files, name);
      if (scan === null) {
        const there = this.#files === null ? [] : (await scanRepository(this.#files)).map((s) => s.name);
        throw new ProblemError(
          'not-found',
          `failed to load '${name}': there is no model directory '${name}' in the repository (${there.length === 0 ? 'it holds no models' : `models: ${there.join(', ')}`})`,
        );
      }
      this.#failures = [];
      await this.#sync(scan, {
        override: config,
        loader: this.later,
        failFast: false,
        stable: null,
        vanishing: new Set(),
      });
      const failures = this.#failures;
      this.#failures = [];
      if (failures.length > 0)
        throw new ProblemError('invalid-request', `failed to load '${name}': ${failures.join('; ')}`);
    });
  }

  /**
   * POST /v2/repository/models/{name}/unload: every version stops taking requests now and is freed when its last
   * request ends; the model stays listed, UNAVAILABLE 'unloaded'.
   */
  unload(name: string): Promise<void> {
    return this.#serially(async () => {
      const known = this.registry.known().includes(name);
      if (!known) {
        this.#files ??= await RepositoryFiles.at(this.settings.dir);
        const onDisk = this.#files !== null && (await scanModel(this.#files, name)) !== null;
        if (!onDisk)
          throw new ProblemError(
            'not-found',
            `failed to unload '${name}': there is no model '${name}' in the repository`,
          );
        return;
      }
      for (const entry of this.registry.entries(name))
        if (entry.version !== undefined) this.registry.retire(name, entry.version, true);
      this.registry.modelRecovered(name);
      this.#attempts.delete(name);
      this.#configKeys.delete(name);
      this.log?.info({ model: name }, 'model unloaded on request: its versions finish their requests, then are freed');
    });
  }

  /**
   * The repository index: every model and version the registry knows, with its state; in explicit mode also the
   * model directories not loaded (UNAVAILABLE, 'not loaded'). `readyOnly`: READY versions only.
   */
  async index(readyOnly: boolean): Promise<IndexEntry[]> {
    const rows = this.registry.index();
    if (this.settings.control === 'explicit') {
      this.#files ??= await RepositoryFiles.at(this.settings.dir);
      const known = new Set(this.registry.known());
      const scans = this.#files === null ? [] : await scanRepository(this.#files);
      for (const scan of scans)
        if (!known.has(scan.name))
          rows.push({
            name: scan.name,
            state: 'UNAVAILABLE',
            reason: 'not loaded (POST /v2/repository/models/{name}/load)',
          });
      rows.sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version ?? '', b.version ?? ''),
      );
    }
    return readyOnly ? rows.filter((row) => row.state === 'READY') : rows;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#queue;
    await Promise.all([this.initial.close(), this.later.close()]);
  }

  /**
   * A failure: thrown with failFast (start-up, MODELS_ON_ERROR=fail), else listed (`record`, which says whether it is
   * news), kept for the answer of an explicit load, and logged when it is news after start-up. `file`: the model
   * file of a version refused for memory.
   */
  #failed(error: ModelLoadError | ModelMemoryError, record: () => boolean, options: SyncOptions, file = ''): void {
    if (options.failFast)
      throw error instanceof ModelMemoryError
        ? new ModelLoadError(file, error.message, this.#files?.shown(file))
        : error;
    const news = record();
    const reason = error instanceof ModelMemoryError ? `${file}: ${error.message}` : error.relativeMessage;
    this.#failures.push(reason);
    if (news && this.#started) this.log?.warn({ reason }, `model load failed: ${reason}`);
  }

  /** The model's configuration: the override, its config.pbtxt, or the defaults; and the key it is known by. */
  async #config(scan: ModelScan, override: string | null): Promise<{ config: ModelConfig; key: string }> {
    const files = this.#files!;
    const context: ConfigContext = { name: scan.name };
    const rel = RepositoryFiles.path(scan.name, CONFIG_FILE);
    try {
      if (override !== null)
        return { config: modelConfigFromJson(override, 'parameters.config', context), key: `override ${override}` };
      if (scan.config === null) return { config: defaultModelConfig(), key: 'defaults' };
      const text = (await files.read(rel, { max: MAX_CONFIG_FILE_BYTES, limit: 'MAX_CONFIG_FILE_BYTES' })).toString(
        'utf8',
      );
      return { config: parseModelConfig(text, rel, context), key: `file ${text}` };
    } catch (error) {
      if (error instanceof ModelConfigError) throw configLoadError(files, error);
      if (error instanceof ModelLoadError) throw error;
      throw new ModelLoadError(rel, (error as Error).message, files.shown(rel));
    }
  }

  /** Brings one model in line with its scan: configuration, version policy, loads, swaps and retirements. */
  async #sync(scan: ModelScan, options: SyncOptions): Promise<void> {
    const { name } = scan;
    if (scan.problem !== null) {
      this.#failed(scan.problem, () => this.registry.modelFailed(name, scan.problem!), options);
      return;
    }
    let config: ModelConfig;
    let configKey: string;
    try {
      ({ config, key: configKey } = await this.#config(scan, options.override));
    } catch (error) {
      if (!(error instanceof ModelLoadError)) throw error;
      // The versions that serve keep serving, with the configuration they were loaded with.
      this.#failed(error, () => this.registry.modelFailed(name, error), options);
      return;
    }
    this.registry.modelRecovered(name);
    if (this.#configKeys.get(name) !== configKey) {
      this.#configKeys.set(name, configKey);
      if (config.ignored.length > 0)
        this.log?.info(
          { model: name, ignored: config.ignored },
          `model '${name}': configuration fields ignored: ${config.ignored.join('; ')}`,
        );
    }
    const attempts = this.#attempts.get(name) ?? new Map<string, Attempt>();
    this.#attempts.set(name, attempts);

    for (const version of scan.versions)
      if (version.problem !== null)
        this.#failed(
          version.problem,
          () => this.registry.failed(name, version.version, version.problem!, version.problem!.file),
          options,
        );
    const numbered = scan.versions.filter((v) => v.problem === null).map((v) => v.version);
    const candidates = [...new Set([...numbered, ...options.vanishing])].sort(compareVersions);
    const selected = selectVersions(config.versionPolicy, candidates);
    if (config.versionPolicy.kind === 'specific')
      for (const version of config.versionPolicy.versions.filter((v) => !candidates.includes(v))) {
        const rel = RepositoryFiles.path(name, version);
        const error = new ModelLoadError(
          rel,
          'is named by version_policy, but there is no such version directory',
          this.#files!.shown(rel),
        );
        this.#failed(error, () => this.registry.failed(name, version, error, rel), options);
      }

    // Versions no longer served. Gone from disk (two scans agreeing): retired first, so that their memory is given
    // back before the loads. No longer selected by the policy: retired once a selected version serves, so that a
    // broken new version never leaves the model without any.
    const present = new Set(candidates);
    const named = config.versionPolicy.kind === 'specific' ? config.versionPolicy.versions : [];
    const keep = (version: string | undefined) =>
      version === undefined ||
      selected.includes(version) ||
      named.includes(version) ||
      scan.versions.some((v) => v.version === version && v.problem !== null);
    const retire = (version: string) => {
      this.registry.retire(name, version, false);
      attempts.delete(version);
    };
    for (const { version } of this.registry.entries(name))
      if (!keep(version) && !present.has(version!)) retire(version!);

    for (const version of selected) {
      if (options.vanishing.has(version)) continue;
      if (options.stable !== null && !options.stable.has(version)) continue;
      const fingerprint = scan.versions.find((v) => v.version === version)!.fingerprint;
      const attempt = attempts.get(version);
      if (
        attempt !== undefined &&
        attempt.fingerprint === fingerprint &&
        attempt.configKey === configKey &&
        !attempt.transient
      )
        continue;
      attempts.set(
        version,
        await this.#loadVersion(name, version, config, options, {
          fingerprint,
          configKey,
          transient: false,
          loaded: true,
        }),
      );
    }

    // Served as this configuration reads it: a configuration whose versions all fail leaves the others serving.
    const selectedServes = this.registry
      .versions(name)
      .some(
        (served) =>
          selected.includes(served.version) &&
          attempts.get(served.version)?.configKey === configKey &&
          attempts.get(served.version)?.loaded === true,
      );
    for (const { version, state } of this.registry.entries(name))
      if (!keep(version) && (selectedServes || state !== 'READY')) retire(version!);
  }

  /** Loads one version with the model's configuration and swaps it in; returns the attempt to remember. */
  async #loadVersion(
    name: string,
    version: string,
    config: ModelConfig,
    options: SyncOptions,
    attempt: Attempt,
  ): Promise<Attempt> {
    const files = this.#files!;
    this.registry.loading(name, version);
    let file = RepositoryFiles.path(name, version);
    try {
      file = await modelFileOf(files, name, version, config.defaultModelFilename);
      const served = await options.loader.load({
        dir: this.settings.dir,
        file,
        name,
        version,
        limits: this.limits,
        config,
      });
      try {
        fitModelConfig(config, served);
      } catch (error) {
        if (error instanceof ModelConfigError) throw configLoadError(files, error);
        throw error;
      }
      this.registry.install(served);
      if (options.loader === this.later)
        this.log?.info({ model: name, version, file }, `model loaded: '${name}' version ${version}`);
      return attempt;
    } catch (thrown) {
      // Whatever else goes wrong (a bug meeting a file we did not foresee) is this version's failure, not the poll's.
      const error =
        thrown instanceof ModelLoadError || thrown instanceof ModelMemoryError
          ? thrown
          : new ModelLoadError(
              file,
              `cannot be loaded (${(thrown as Error).name}: ${(thrown as Error).message})`,
              files.shown(file),
            );
      const at = error instanceof ModelLoadError ? error.file : file;
      this.#failed(error, () => this.registry.failed(name, version, error, at), options, file);
      return { ...attempt, transient: error instanceof ModelMemoryError, loaded: false };
    }
  }
}

/** A configuration problem as a load error naming the file (repository-relative) and line. */
function configLoadError(files: RepositoryFiles, error: ModelConfigError): ModelLoadError {
  const problem = `${error.path === '' ? '' : `${error.path}: `}${error.problem}`;
  const isFile = error.source.endsWith(CONFIG_FILE);
  return new ModelLoadError(error.source, problem, isFile ? files.shown(error.source) : error.source, error.line);
}
