/**
 * One inference request, as every frontend hands it to the core (src/core/), whatever its wire format: the model,
 * named typed tensors with their shapes, the options, a schedule (priority, queue deadline) and how the answer is
 * to be written. Frontends (src/http/routes, src/grpc, through src/protocols/) build it once; backends (layer
 * models: src/inference/layer-*.ts; ONNX graphs: src/models/onnx/backend.ts) plan and compute from it and never see
 * a protocol's names.
 *
 * Problems are named in the request's own terms without renaming: every tensor and option carries the place the
 * client wrote it (`at`), as its frontend names it (`inputs`, `inputs[2]`, `initialState`, `topK`,
 * `outputs[0].parameters.classification`), and a backend builds each problem's path from those.
 */
import type { Text } from './text.js';
import type { ModelDescription } from './model.js';

/** The element types a tensor may arrive in (the Open Inference Protocol's names). */
export type Datatype = 'FP32' | 'FP64' | 'FP16' | 'INT64' | 'INT32' | 'BYTES';

/** A tensor's values as they arrived, read only once the plan has checked its shape against the limits. */
export type TensorValues =
  /** JSON numbers nested by dimension (`[[[1, 0], [0, 1]]]`): element [i][j][k] is named `at.tensor[i][j][k]`. */
  | { readonly kind: 'nested'; readonly value: readonly unknown[] }
  /** JSON numbers, flat, row-major: element i is named `at.data[i]`. */
  | { readonly kind: 'flat'; readonly value: readonly number[] }
  /** Little-endian, row-major elements of `datatype` (binary tensors, gRPC's raw contents). */
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  /** Texts: each a string of tokens (one per code point) or a list of tokens, one-hot encoded by the model. */
  | { readonly kind: 'text'; readonly value: readonly Text[] };

/** Where the client wrote a tensor, for problems: the tensor itself, its shape, its data (elements `data[i]`). */
export interface TensorPlace {
  readonly tensor: string;
  readonly shape: string;
  readonly data: string;
  /** Where a binary tensor's size was given (`inputs[0].parameters.binary_data_size`), when it was. */
  readonly size?: string;
}

export interface RequestTensor {
  /** The model's name for it: `input`, `lengths`, `initial_state_0`, a graph input's name, ... */
  readonly name: string;
  /**
   * The element type sent (a Datatype, or whatever the client wrote: checked against the model's); null for JSON
   * numbers of our own routes (read as the model's own type).
   */
  readonly datatype: string | null;
  /** Its shape as sent; null when the values carry it (nested JSON, texts). */
  readonly shape: readonly number[] | null;
  readonly values: TensorValues;
  readonly at: TensorPlace;
}

/** An option as the client gave it, with its place. */
export interface Given<T> {
  readonly value: T;
  readonly at: string;
}

/** An output asked for by name (the Open Inference Protocol lists them; our routes take the model's own). */
export interface RequestedOutput {
  readonly name: string;
  /** The classification extension's K: its top K classes per row instead of its values; null for the values. */
  readonly classes: Given<number> | null;
  readonly at: string;
}

/** The options of a pass over a recurrent model. Absent (undefined) means the model's default. */
export interface InferenceOptions {
  readonly returnSequences?: boolean;
  readonly returnState?: boolean;
  readonly stateLayout?: 'keras' | 'pytorch';
  readonly zeroOutputForMask?: boolean;
  /** The top K classes of each row of the model's main output (our routes' `topK`). */
  readonly topK?: number;
  /** The one-hot order of texts (the request's own vocabulary; a served model has its own). */
  readonly vocabulary?: Text;
  /** The priority level: 1 first, larger later; 0 or absent = the default level. */
  readonly priority?: number;
  /** The longest the request may wait for its turn, in milliseconds; absent = the configured default. */
  readonly timeoutMs?: number;
}

/** Where each option is written in the request, as its frontend names it (one constant object per frontend). */
export type OptionPlaces = { readonly [K in keyof InferenceOptions]-?: string };

/** Which model: one of the repository (the latest version, or the one named), or one described in the request. */
export type ModelTarget =
  | { readonly kind: 'served'; readonly name: string; readonly version?: string }
  | { readonly kind: 'described'; readonly description: ModelDescription };

/**
 * A stateful sequence's control (Triton's sequence batcher): the request is one chunk of sequence `id`; the server
 * carries the model's recurrent state from one chunk to the next.
 */
export interface SequenceControl {
  /** An unsigned 64-bit integer (as a bigint: a number loses integers past 2^53) or a string; 42n and '42' differ. */
  readonly id: bigint | string;
  /** The first chunk: it begins from zeros, or from the request's initial states. */
  readonly start: boolean;
  /** The last chunk: the state is dropped after answering. */
  readonly end: boolean;
  /** Where the client gave the id, and the start flag, for messages. */
  readonly at: string;
  readonly startAt: string;
}

export interface InferenceRequest {
  readonly model: ModelTarget;
  readonly inputs: readonly RequestTensor[];
  /**
   * The outputs to answer: these, in order; `all`, every output of the model by name (the Open Inference
   * Protocol's default); `view`, the model's main output and, unless `returnState` is false, its final states (our
   * routes' answer).
   */
  readonly outputs: readonly RequestedOutput[] | 'all' | 'view';
  readonly options: InferenceOptions;
  readonly optionsAt: OptionPlaces;
  /**
   * Where the client can send what this request's form cannot carry (every input and output by name), as its
   * frontend names it (`POST /v2/models/x/infer`), for the messages that refuse such a request; null: nowhere.
   */
  readonly elsewhere: string | null;
  /** One chunk of a stateful sequence; null for a request on its own. */
  readonly sequence: SequenceControl | null;
}

/**
 * What a result tensor is to a recurrent model's answer: its main output, a final state (h), a final cell state
 * (an LSTM's c), or another output of a graph.
 */
export type TensorRole = 'output' | 'state' | 'cell-state' | 'other';

/** A tensor of a result: float32 values, row-major. */
export interface ResultTensor {
  readonly name: string;
  readonly role: TensorRole;
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** The top K classes of each row are answered instead of (the classification extension) or beside (`topK`) it. */
  readonly classes: number | null;
}

/** What an answer says besides the tensors; plain data (it crosses to a worker and back). */
export interface ResultFacts {
  /** The served model that answered (its name and version); null for a model the request described. */
  readonly model: { readonly name: string; readonly version: string } | null;
  /** The input's shape as the model took it ([batch, time, features] for a recurrent model). */
  readonly inputShape: readonly number[];
  /** The one-hot order of texts; null for numbers. */
  readonly vocabulary: readonly string[] | null;
  /** The class labels of the model's classifier outputs; null: none. */
  readonly labels: readonly string[] | null;
  /** A layer model's summary (`ModelSummary` as JSON text); null for a graph. */
  readonly summary: string | Uint8Array | null;
  /** A graph's summary (`OnnxGraphSummary` as JSON text); null for a layer model. */
  readonly graph: string | null;
}

export interface InferenceResult {
  /** The tensors asked for, in order. */
  readonly tensors: readonly ResultTensor[];
  readonly facts: ResultFacts;
}
