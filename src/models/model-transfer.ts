/**
 * A loaded model sent from the thread that loaded it to the event loop: plain data and typed arrays, the arrays'
 * buffers moved, not copied (src/runtime/model-loader.ts). What does not cross is made again on arrival, cheaply:
 * an ONNX graph's program (its nodes' operators are functions) is prepared from the decoded graph (no protobuf
 * decoding: well under a millisecond for the largest test graph); a seeded layer model is resolved again from its
 * description (its weights are built on first use, as at start-up); the file's bytes, already in a
 * SharedArrayBuffer, get an id of this process. The configuration stays on this side and is attached again.
 */
import type { Limits } from '../config/config.js';
import type { ModelDescription, ResolvedModel } from '../inference/model.js';
import { resolveModel } from '../inference/model.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';
import type { ModelConfig } from './model-config/model-config.js';
import { type ServedModel, adoptSource } from './model-file.js';
import type { OnnxGraph } from './onnx/decode.js';
import { prepareProgram } from './onnx/program.js';

interface Common {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly labels: readonly string[] | null;
}

/** What crosses threads for each kind of loaded model. */
export type TransferredModel =
  | (Common & { readonly kind: 'onnx'; readonly graph: OnnxGraph; readonly bytes: Uint8Array })
  | (Common & {
      readonly kind: 'rnn';
      readonly description: ModelDescription;
      readonly vocabulary: string[] | null;
      /** Explicit weights: the model, plain data. */
      readonly model: ResolvedModel | null;
      /** Seeded weights: resolved again on arrival from the description and this input size. */
      readonly inputDim: number;
    });

/**
 * `value` with every typed array in a buffer of its own (a small array may be a view into a slab shared with others,
 * engine/arrays.ts: moving the slab would take it from them, cloning the view would copy all of it), and those
 * buffers. Shared memory is left as it is (it is shared, not copied).
 */
function ownArrays(value: unknown, buffers: Set<ArrayBuffer>, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  let copy: unknown;
  if (ArrayBuffer.isView(value)) {
    const view = value as unknown as Uint8Array;
    if (!(view.buffer instanceof ArrayBuffer)) copy = view;
    else {
      const own = view.byteLength === view.buffer.byteLength && !buffers.has(view.buffer) ? view : view.slice();
      buffers.add(own.buffer as ArrayBuffer);
      copy = own;
    }
  } else if (value instanceof Map) {
    const map = new Map();
    seen.set(value, map);
    for (const [k, v] of value) map.set(k, ownArrays(v, buffers, seen));
    return map;
  } else if (Array.isArray(value)) {
    const array: unknown[] = [];
    seen.set(value, array);
    for (const item of value) array.push(ownArrays(item, buffers, seen));
    return array;
  } else {
    const object: Record<string, unknown> = {};
    seen.set(value, object);
    for (const [k, v] of Object.entries(value)) object[k] = ownArrays(v, buffers, seen);
    return object;
  }
  seen.set(value, copy);
  return copy;
}

/** The model as it crosses, and the buffers to move with it. */
export function toTransfer(served: ServedModel): { model: TransferredModel; buffers: ArrayBuffer[] } {
  const buffers = new Set<ArrayBuffer>();
  const seen = new Map<object, unknown>();
  const common = { name: served.name, version: served.version, file: served.file, labels: served.labels ?? null };
  if (served.kind === 'onnx') {
    const graph = ownArrays(served.program.graph, buffers, seen) as OnnxGraph;
    return { model: { ...common, kind: 'onnx', graph, bytes: served.source.bytes }, buffers: [...buffers] };
  }
  const { model } = served;
  // Listed field by field: a seeded model's weights are a getter that would build them.
  const explicit =
    model.seed === null
      ? (ownArrays(
          {
            spec: model.spec,
            weights: model.weights,
            inputDim: model.inputDim,
            seed: null,
            buildCost: 0,
            maskValue: model.maskValue,
            embedding: model.embedding,
            head: model.head,
            lastStep: model.lastStep,
          },
          buffers,
          seen,
        ) as ResolvedModel)
      : null;
  return {
    model: {
      ...common,
      kind: 'rnn',
      description: served.description,
      vocabulary: served.vocabulary,
      model: explicit,
      inputDim: model.inputDim,
    },
    buffers: [...buffers],
  };
}

/** The served model again, on this side, with its configuration. */
export function fromTransfer(
  moved: TransferredModel,
  config: ModelConfig,
  limits: Limits,
  cache: SeededWeightsCache,
): ServedModel {
  const { name, version, file, labels } = moved;
  const labelled = labels === null ? {} : { labels };
  if (moved.kind === 'onnx') {
    const program = prepareProgram(moved.graph);
    return { kind: 'onnx', name, version, file, program, source: adoptSource(moved.bytes), config, ...labelled };
  }
  const model = moved.model ?? resolveModel(moved.description, moved.inputDim, limits, cache);
  return {
    kind: 'rnn',
    name,
    version,
    file,
    description: moved.description,
    model,
    vocabulary: moved.vocabulary,
    config,
    ...labelled,
  };
}
