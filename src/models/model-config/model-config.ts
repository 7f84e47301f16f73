/**
 * A model's configuration, as Triton keeps it: `MODELS_DIR/NAME/config.pbtxt`, the text format of
 * `inference.ModelConfig` (proto/triton/model_config.proto, Triton's own file), or the same message as JSON in a load
 * request's `config` parameter. Optional: a model without one gets the defaults (`defaultModelConfig`).
 *
 * The file is checked against the message type (an unknown field or a bad value is a load error naming the file,
 * line and field), then read into what rnn-serve honours, typed (`ModelConfig`). What would change how a model
 * answers and is not implemented (ensembles, GPU instances, reshapes, decoupled answers, repository agents, ...) is
 * refused with the reason; what only tunes a Triton backend (instance counts, optimisation hints, warm-up, cache,
 * metric tags) is ignored, and listed in `ignored` for one log line.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf, { type Type } from 'protobufjs';
import {
  type CheckedMessage,
  type ProtoMap,
  type ProtoMessage,
  type ProtoValue,
  ProtoCheckError,
  checkJsonMessage,
  checkTextMessage,
} from './proto-check.js';
import { TextFormatError, parseTextFormat } from './text-format.js';

/** A tensor as the configuration names it (`input` or `output` entries, `sequence_batching.state`). */
export interface TensorConfig {
  readonly name: string;
  /** The Open Inference Protocol datatype (`FP32` for TYPE_FP32, `BYTES` for TYPE_STRING); null when not given. */
  readonly datatype: string | null;
  /** Dimensions, -1 for any size; without the batch dimension when maxBatchSize ≥ 1. Empty: not given. */
  readonly dims: readonly number[];
  /** Inputs only: a request may leave it out. */
  readonly optional: boolean;
}

/** Which version directories are served: the N highest, all, or these. */
export type VersionPolicy =
  | { readonly kind: 'latest'; readonly count: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'specific'; readonly versions: readonly string[] };

export interface QueuePolicy {
  /** What happens to a request whose timeout passes in the queue: refused (DELAY is refused when the model loads). */
  readonly timeoutAction: 'REJECT';
  /** 0: no timeout. */
  readonly defaultTimeoutMicroseconds: number;
  /** Whether a request may set its own timeout. */
  readonly allowTimeoutOverride: boolean;
  /** 0: unbounded. */
  readonly maxQueueSize: number;
}

export interface DynamicBatching {
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMicroseconds: number;
  readonly preserveOrdering: boolean;
  /** 0: no priorities. */
  readonly priorityLevels: number;
  /** In 1..priorityLevels when there are priorities, else 0. */
  readonly defaultPriorityLevel: number;
  readonly defaultQueuePolicy: QueuePolicy;
  /** Queue policies of single priority levels. */
  readonly priorityQueuePolicies: ReadonlyMap<number, QueuePolicy>;
}

/** A state carried from one request of a sequence to the next: the graph's output `outputName` feeds `inputName`. */
export interface SequenceState {
  readonly inputName: string;
  readonly outputName: string;
  readonly datatype: string | null;
  readonly dims: readonly number[];
  /** How the state starts: zeros (the only initial state read; a `data_file` is refused). */
  readonly initialStates: readonly {
    readonly name: string;
    readonly datatype: string | null;
    readonly dims: readonly number[];
  }[];
}

export type SequenceStrategy =
  | { readonly kind: 'direct'; readonly maxQueueDelayMicroseconds: number; readonly minimumSlotUtilization: number }
  | {
      readonly kind: 'oldest';
      readonly maxCandidateSequences: number;
      readonly preferredBatchSizes: readonly number[];
      readonly maxQueueDelayMicroseconds: number;
      readonly preserveOrdering: boolean;
    };

export interface SequenceBatching {
  /** A sequence idle this long ends (Triton's default 1 s when the file says 0). */
  readonly maxSequenceIdleMicroseconds: number;
  readonly states: readonly SequenceState[];
  /** null: Triton's default, `direct` with no delay. */
  readonly strategy: SequenceStrategy | null;
}

export interface ModelConfig {
  /** Where it came from (`hello/config.pbtxt`, `parameters.config`), or null for the defaults (no file). */
  readonly source: string | null;
  readonly platform: string | null;
  readonly backend: string | null;
  /**
   * 0 (the default): dims are whole shapes, the batch dimension included, and the batch is bounded by MAX_BATCH.
   * ≥ 1: the largest batch; dims leave out the first (batch) dimension.
   */
  readonly maxBatchSize: number;
  readonly inputs: readonly TensorConfig[];
  readonly outputs: readonly TensorConfig[];
  readonly versionPolicy: VersionPolicy;
  /** The model file of each version directory, when not model.json / model.onnx. */
  readonly defaultModelFilename: string | null;
  readonly dynamicBatching: DynamicBatching | null;
  readonly sequenceBatching: SequenceBatching | null;
  /** `parameters { key: "k" value { string_value: "v" } }`. */
  readonly parameters: ReadonlyMap<string, string>;
  /** Fields given that rnn-serve does not use, with why (logged once when the model loads). */
  readonly ignored: readonly string[];
  /** Where each field was written: path (`input[0].dims`) → line (0 when not from a file). */
  readonly lines: ReadonlyMap<string, number>;
}

/** Without a configuration: every version directory is served, and nothing else is set. */
export const ALL_VERSIONS: VersionPolicy = { kind: 'all' };
/** Triton's default version policy, for a configuration that names none. */
export const LATEST_VERSION: VersionPolicy = { kind: 'latest', count: 1 };
/** Triton's sequence idle timeout when the configuration says 0. */
const DEFAULT_SEQUENCE_IDLE_MICROSECONDS = 1_000_000;

export function defaultModelConfig(): ModelConfig {
  return {
    source: null,
    platform: null,
    backend: null,
    maxBatchSize: 0,
    inputs: [],
    outputs: [],
    versionPolicy: ALL_VERSIONS,
    defaultModelFilename: null,
    dynamicBatching: null,
    sequenceBatching: null,
    parameters: new Map(),
    ignored: [],
    lines: new Map(),
  };
}

/** A configuration that cannot be used: `source` and `line` (0: none) say where, `path` which field. */
export class ModelConfigError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${source}${line > 0 ? `:${line}` : ''}: ${path === '' ? '' : `${path}: `}${problem}`);
    this.name = 'ModelConfigError';
  }
}

/** The line of `path`, or of the nearest enclosing field written (a field left out has no line of its own). */
export function lineOf(lines: ReadonlyMap<string, number>, path: string): number {
  for (let at = path; at !== ''; at = at.replace(/(\.[^.[]*|\[[^\]]*\])$/, '')) {
    const line = lines.get(at);
    if (line !== undefined) return line;
    if (!/[.[]/.test(at)) break;
  }
  return 0;
}

let modelConfigType: Type | null = null;

/** `inference.ModelConfig`, read once from proto/triton/model_config.proto (beside src/ when run from source or dist/). */
export function modelConfigMessage(): Type {
  if (modelConfigType !== null) return modelConfigType;
  const file = ['../../../proto/triton/model_config.proto', '../../../../proto/triton/model_config.proto']
    .map((path) => fileURLToPath(new URL(path, import.meta.url)))
    .find((path) => existsSync(path));
  if (file === undefined) throw new Error('proto/triton/model_config.proto is missing from the installation');
  const root = new protobuf.Root().loadSync(file, { keepCase: true });
  root.resolveAll();
  modelConfigType = root.lookupType('inference.ModelConfig');
  return modelConfigType;
}

/** What the settings of a model are read with: its directory name. */
export interface ConfigContext {
  /** The model's directory name: `name`, when given, must equal it. */
  readonly name: string;
}

/** config.pbtxt's text (`source` names it: `hello/config.pbtxt`) → the model's configuration. */
export function parseModelConfig(text: string, source: string, context: ConfigContext): ModelConfig {
  let checked: CheckedMessage;
  try {
    checked = checkTextMessage(modelConfigMessage(), parseTextFormat(text));
  } catch (error) {
    if (error instanceof TextFormatError) throw new ModelConfigError(source, error.line, '', error.message);
    if (error instanceof ProtoCheckError) throw new ModelConfigError(source, error.line, error.path, error.problem);
    throw error;
  }
  return readModelConfig(checked, source, context);
}

/** A load request's `config` parameter (ModelConfig as JSON) → the model's configuration. */
export function modelConfigFromJson(json: string, source: string, context: ConfigContext): ModelConfig {
  let object: unknown;
  try {
    object = JSON.parse(json);
  } catch (error) {
    throw new ModelConfigError(source, 0, '', `is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof object !== 'object' || object === null || Array.isArray(object))
    throw new ModelConfigError(source, 0, '', 'is not a JSON object (a ModelConfig)');
  let checked: CheckedMessage;
  try {
    checked = checkJsonMessage(modelConfigMessage(), object as Record<string, unknown>);
  } catch (error) {
    if (error instanceof ProtoCheckError) throw new ModelConfigError(source, 0, error.path, error.problem);
    throw error;
  }
  return readModelConfig(checked, source, context);
}

// Accessors over a checked message: a field not given has its type's default.
const messageOf = (m: ProtoMessage, field: string): ProtoMessage | null =>
  (m[field] as ProtoMessage | undefined) ?? null;
const listOf = <T extends ProtoValue>(m: ProtoMessage, field: string): readonly T[] =>
  (m[field] as T[] | undefined) ?? [];
const mapOf = (m: ProtoMessage, field: string): ProtoMap => (m[field] as ProtoMap | undefined) ?? new Map();
const stringOf = (m: ProtoMessage, field: string): string => (m[field] as string | undefined) ?? '';
const boolOf = (m: ProtoMessage, field: string): boolean => (m[field] as boolean | undefined) ?? false;
const numberOf = (m: ProtoMessage, field: string): number => (m[field] as number | undefined) ?? 0;
const enumOf = (m: ProtoMessage, field: string, first: string): string => (m[field] as string | undefined) ?? first;

/** TYPE_FP32 → FP32; TYPE_STRING → BYTES (the protocol's name); TYPE_INVALID (not given) → null. */
function datatypeOf(dataType: string): string | null {
  if (dataType === 'TYPE_INVALID') return null;
  return dataType === 'TYPE_STRING' ? 'BYTES' : dataType.replace(/^TYPE_/, '');
}

class Reader {
  readonly ignored: string[] = [];

  constructor(
    private readonly checked: CheckedMessage,
    readonly source: string,
  ) {}

  fail(path: string, problem: string): never {
    throw new ModelConfigError(this.source, lineOf(this.checked.lines, path), path, problem);
  }

  refuse(path: string, what: string): never {
    return this.fail(
      path,
      `is not supported: rnn-serve does not implement ${what}; serving the model without it would change its answers`,
    );
  }

  ignore(path: string, why: string): void {
    this.ignored.push(`${path} (${why})`);
  }

  /** A uint64 (a count of microseconds, of levels) as a number: at most 2^53 - 1, over 285 years of microseconds. */
  uint64(m: ProtoMessage, field: string, path: string): number {
    const value = (m[field] as bigint | undefined) ?? 0n;
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      this.fail(path, `is ${value}; the largest accepted is ${Number.MAX_SAFE_INTEGER}`);
    return Number(value);
  }

  dims(m: ProtoMessage, field: string, path: string): number[] {
    return listOf<bigint>(m, field).map((d, i) => {
      if (d !== -1n && (d < 1n || d > 2n ** 31n - 1n))
        this.fail(`${path}[${i}]`, `is ${d}; a dimension is -1 (any size) or at least 1`);
      return Number(d);
    });
  }

  tensor(m: ProtoMessage, path: string, kind: 'input' | 'output'): TensorConfig {
    const name = stringOf(m, 'name');
    if (name === '') this.fail(path, 'has no name');
    if (messageOf(m, 'reshape') !== null) this.refuse(`${path}.reshape`, 'reshape');
    if (boolOf(m, 'is_shape_tensor')) this.refuse(`${path}.is_shape_tensor`, 'shape tensors');
    if (boolOf(m, 'is_non_linear_format_io')) this.refuse(`${path}.is_non_linear_format_io`, 'non-linear formats');
    if (kind === 'input') {
      if (boolOf(m, 'allow_ragged_batch')) this.refuse(`${path}.allow_ragged_batch`, 'ragged batches');
      const format = enumOf(m, 'format', 'FORMAT_NONE');
      if (format !== 'FORMAT_NONE') this.refuse(`${path}.format`, `image format ${format}`);
    } else if (stringOf(m, 'label_filename') !== '')
      this.fail(`${path}.label_filename`, 'is not read: class labels come from labels.txt beside the model file');
    return {
      name,
      datatype: datatypeOf(enumOf(m, 'data_type', 'TYPE_INVALID')),
      dims: this.dims(m, 'dims', `${path}.dims`),
      optional: kind === 'input' && boolOf(m, 'optional'),
    };
  }

  tensors(config: ProtoMessage, field: 'input' | 'output'): TensorConfig[] {
    const tensors = listOf<ProtoMessage>(config, field).map((m, i) => this.tensor(m, `${field}[${i}]`, field));
    const seen = new Map<string, number>();
    tensors.forEach((tensor, i) => {
      const first = seen.get(tensor.name);
      if (first !== undefined)
        this.fail(`${field}[${i}].name`, `'${tensor.name}' is named twice (also ${field}[${first}])`);
      seen.set(tensor.name, i);
    });
    return tensors;
  }

  versionPolicy(config: ProtoMessage): VersionPolicy {
    const policy = messageOf(config, 'version_policy');
    if (policy === null) return LATEST_VERSION;
    const latest = messageOf(policy, 'latest');
    if (latest !== null) {
      const count = numberOf(latest, 'num_versions');
      if (count < 1) this.fail('version_policy.latest.num_versions', `is ${count}; serve at least 1 version`);
      return { kind: 'latest', count };
    }
    if (messageOf(policy, 'all') !== null) return ALL_VERSIONS;
    const specific = messageOf(policy, 'specific');
    if (specific !== null) {
      const versions = listOf<bigint>(specific, 'versions');
      if (versions.length === 0) this.fail('version_policy.specific.versions', 'names no version');
      versions.forEach((v, i) => {
        if (v < 1n) this.fail(`version_policy.specific.versions[${i}]`, `is ${v}; versions are positive integers`);
      });
      return { kind: 'specific', versions: [...new Set(versions.map(String))] };
    }
    return LATEST_VERSION;
  }

  queuePolicy(m: ProtoMessage | null, path: string): QueuePolicy {
    const policy = m ?? {};
    const action = enumOf(policy, 'timeout_action', 'REJECT');
    if (action === 'DELAY')
      this.fail(
        `${path}.timeout_action`,
        'is DELAY; rnn-serve answers a request whose queue timeout passes (REJECT): no request waits without bound',
      );
    return {
      timeoutAction: 'REJECT',
      defaultTimeoutMicroseconds: this.uint64(
        policy,
        'default_timeout_microseconds',
        `${path}.default_timeout_microseconds`,
      ),
      allowTimeoutOverride: boolOf(policy, 'allow_timeout_override'),
      maxQueueSize: numberOf(policy, 'max_queue_size'),
    };
  }

  preferredSizes(m: ProtoMessage, path: string, maxBatchSize: number): number[] {
    return listOf<number>(m, 'preferred_batch_size').map((size, i) => {
      if (size < 1 || size > maxBatchSize)
        this.fail(
          `${path}[${i}]`,
          `is ${size}; a preferred batch size is between 1 and max_batch_size (${maxBatchSize})`,
        );
      return size;
    });
  }

  dynamicBatching(config: ProtoMessage, maxBatchSize: number): DynamicBatching | null {
    const m = messageOf(config, 'dynamic_batching');
    if (m === null) return null;
    const path = 'dynamic_batching';
    if (maxBatchSize < 1)
      this.fail(path, 'needs max_batch_size of at least 1: requests are batched along the first dimension');
    const levels = this.uint64(m, 'priority_levels', `${path}.priority_levels`);
    const defaultLevel = this.uint64(m, 'default_priority_level', `${path}.default_priority_level`);
    if (levels > 0 && (defaultLevel < 1 || defaultLevel > levels))
      this.fail(
        `${path}.default_priority_level`,
        `is ${defaultLevel}; with ${levels} priority levels it is between 1 and ${levels}`,
      );
    if (levels === 0 && defaultLevel !== 0)
      this.fail(`${path}.default_priority_level`, `is ${defaultLevel}, but priority_levels is 0 (no priorities)`);
    const perLevel = new Map<number, QueuePolicy>();
    for (const [key, value] of mapOf(m, 'priority_queue_policy')) {
      const level = Number(key);
      const at = `${path}.priority_queue_policy[${level}]`;
      if (level < 1 || level > levels)
        this.fail(at, `names priority level ${level}; the levels are 1 to ${levels} (priority_levels)`);
      perLevel.set(level, this.queuePolicy(value as ProtoMessage, at));
    }
    return {
      preferredBatchSizes: this.preferredSizes(m, `${path}.preferred_batch_size`, maxBatchSize),
      maxQueueDelayMicroseconds: this.uint64(m, 'max_queue_delay_microseconds', `${path}.max_queue_delay_microseconds`),
      preserveOrdering: boolOf(m, 'preserve_ordering'),
      priorityLevels: levels,
      defaultPriorityLevel: defaultLevel,
      defaultQueuePolicy: this.queuePolicy(messageOf(m, 'default_queue_policy'), `${path}.default_queue_policy`),
      priorityQueuePolicies: perLevel,
    };
  }

  sequenceBatching(config: ProtoMessage, maxBatchSize: number): SequenceBatching | null {
    const m = messageOf(config, 'sequence_batching');
    if (m === null) return null;
    const path = 'sequence_batching';
    if (boolOf(m, 'iterative_sequence')) this.refuse(`${path}.iterative_sequence`, 'iterative sequences');
    if (listOf(m, 'control_input').length > 0)
      this.ignore(
        `${path}.control_input`,
        'sequences are named by the sequence_id, sequence_start and sequence_end request parameters, not by control tensors',
      );
    const states = listOf<ProtoMessage>(m, 'state').map((s, i): SequenceState => {
      const at = `${path}.state[${i}]`;
      const inputName = stringOf(s, 'input_name');
      const outputName = stringOf(s, 'output_name');
      if (inputName === '') this.fail(`${at}.input_name`, 'is missing');
      if (outputName === '') this.fail(`${at}.output_name`, 'is missing');
      const initialStates = listOf<ProtoMessage>(s, 'initial_state').map((init, j) => {
        const where = `${at}.initial_state[${j}]`;
        if (stringOf(init, 'data_file') !== '')
          this.fail(`${where}.data_file`, 'is not read: a state starts from zeros (zero_data: true)');
        return {
          name: stringOf(init, 'name'),
          datatype: datatypeOf(enumOf(init, 'data_type', 'TYPE_INVALID')),
          dims: this.dims(init, 'dims', `${where}.dims`),
        };
      });
      return {
        inputName,
        outputName,
        datatype: datatypeOf(enumOf(s, 'data_type', 'TYPE_INVALID')),
        dims: this.dims(s, 'dims', `${at}.dims`),
        initialStates,
      };
    });
    const direct = messageOf(m, 'direct');
    const oldest = messageOf(m, 'oldest');
    let strategy: SequenceStrategy | null = null;
    if (direct !== null)
      strategy = {
        kind: 'direct',
        maxQueueDelayMicroseconds: this.uint64(
          direct,
          'max_queue_delay_microseconds',
          `${path}.direct.max_queue_delay_microseconds`,
        ),
        minimumSlotUtilization: numberOf(direct, 'minimum_slot_utilization'),
      };
    else if (oldest !== null)
      strategy = {
        kind: 'oldest',
        maxCandidateSequences: numberOf(oldest, 'max_candidate_sequences'),
        preferredBatchSizes: this.preferredSizes(
          oldest,
          `${path}.oldest.preferred_batch_size`,
          Math.max(maxBatchSize, 1),
        ),
        maxQueueDelayMicroseconds: this.uint64(
          oldest,
          'max_queue_delay_microseconds',
          `${path}.oldest.max_queue_delay_microseconds`,
        ),
        preserveOrdering: boolOf(oldest, 'preserve_ordering'),
      };
    const idle = this.uint64(m, 'max_sequence_idle_microseconds', `${path}.max_sequence_idle_microseconds`);
    if (idle !== 0)
      this.ignore(
        `${path}.max_sequence_idle_microseconds`,
        'every sequence may be idle SEQUENCE_IDLE_MS: the sequence store, shared by every model and replica, expires them alike',
      );
    if (direct !== null && numberOf(direct, 'minimum_slot_utilization') !== 0)
      this.ignore(`${path}.direct.minimum_slot_utilization`, 'a pass goes when its delay is up or it is full');
    if (oldest !== null && numberOf(oldest, 'max_candidate_sequences') !== 0)
      this.ignore(
        `${path}.oldest.max_candidate_sequences`,
        'chunks of any number of sequences wait together; a pass takes up to max_batch_size of them',
      );
    return { maxSequenceIdleMicroseconds: idle === 0 ? DEFAULT_SEQUENCE_IDLE_MICROSECONDS : idle, states, strategy };
  }

  /** The fields that do not change answers (ignored), and those that would (refused). */
  unsupported(config: ProtoMessage): void {
    if (messageOf(config, 'ensemble_scheduling') !== null) this.refuse('ensemble_scheduling', 'ensembles');
    if (stringOf(config, 'platform') === 'ensemble') this.refuse('platform', 'ensembles');
    if (listOf(config, 'batch_input').length > 0) this.refuse('batch_input', 'batch inputs');
    if (listOf(config, 'batch_output').length > 0) this.refuse('batch_output', 'batch outputs');
    if (messageOf(config, 'model_operations') !== null) this.refuse('model_operations', 'custom operation libraries');
    if (messageOf(config, 'model_repository_agents') !== null)
      this.refuse('model_repository_agents', 'repository agents (they change the model files before loading)');
    const transaction = messageOf(config, 'model_transaction_policy');
    if (transaction !== null && boolOf(transaction, 'decoupled'))
      this.refuse('model_transaction_policy.decoupled', 'decoupled answers (one request, several responses)');
    listOf<ProtoMessage>(config, 'instance_group').forEach((group, i) => {
      const kind = enumOf(group, 'kind', 'KIND_AUTO');
      if (kind === 'KIND_GPU' || kind === 'KIND_MODEL')
        this.fail(`instance_group[${i}].kind`, `is ${kind}; rnn-serve computes on the CPU (KIND_CPU or KIND_AUTO)`);
      if (listOf(group, 'gpus').length > 0)
        this.fail(`instance_group[${i}].gpus`, 'names GPUs; rnn-serve computes on the CPU');
    });
    const why = {
      instance_group: 'every model runs on the shared worker pool, POOL_THREADS',
      optimization: 'a backend tuning hint',
      model_warmup: 'each model is checked by a planned pass when it loads',
      response_cache: 'answers are not cached',
      metric_tags: 'metrics carry model and version labels',
      model_metrics: 'metrics carry model and version labels',
      cc_model_filenames: 'GPU-specific model files',
      runtime: 'the backend is chosen by the model file',
    } as const;
    for (const [field, reason] of Object.entries(why)) {
      const value = config[field];
      const given = Array.isArray(value)
        ? value.length > 0
        : value instanceof Map
          ? value.size > 0
          : value !== undefined && value !== '';
      if (given) this.ignore(field, reason);
    }
  }
}

function readModelConfig(checked: CheckedMessage, source: string, context: ConfigContext): ModelConfig {
  const config = checked.message;
  const reader = new Reader(checked, source);
  const name = stringOf(config, 'name');
  if (name !== '' && name !== context.name)
    reader.fail('name', `is '${name}', but the model's directory is '${context.name}'; they must be equal`);
  reader.unsupported(config);
  const maxBatchSize = numberOf(config, 'max_batch_size');
  if (maxBatchSize < 0) reader.fail('max_batch_size', `is ${maxBatchSize}; 0 (no batch dimension) or more`);
  const filename = stringOf(config, 'default_model_filename');
  if (filename !== '' && !/^[A-Za-z0-9][A-Za-z0-9_.-]*\.(json|onnx)$/.test(filename))
    reader.fail(
      'default_model_filename',
      `is '${filename}'; a file name in the version directory ending in .json or .onnx`,
    );
  const parameters = new Map<string, string>();
  for (const [key, value] of mapOf(config, 'parameters'))
    parameters.set(String(key), stringOf(value as ProtoMessage, 'string_value'));
  return {
    source,
    platform: stringOf(config, 'platform') || null,
    backend: stringOf(config, 'backend') || null,
    maxBatchSize,
    inputs: reader.tensors(config, 'input'),
    outputs: reader.tensors(config, 'output'),
    versionPolicy: reader.versionPolicy(config),
    defaultModelFilename: filename || null,
    dynamicBatching: reader.dynamicBatching(config, maxBatchSize),
    sequenceBatching: reader.sequenceBatching(config, maxBatchSize),
    parameters,
    ignored: reader.ignored,
    lines: checked.lines,
  };
}
