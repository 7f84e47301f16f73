/**
 * TF.js Layers models (`model.json` with `modelTopology` and `weightsManifest`, plus its binary weight
 * shards, as tfjs `model.save` writes them) → a served model. Supported: a Sequential model of an optional
 * Masking or Embedding layer (then the inputs are ids, [batch, time, 1]), SimpleRNN layers (all unidirectional or all
 * in Bidirectional with one merge mode), then
 * Dense / TimeDistributed(Dense) layers with any of our activations or softmax. The recurrent layers become
 * a model description resolved by resolveModel (the same checks and limits as every model); anything else
 * is an error naming the layer.
 *
 * Weights: the manifest's tensors, in order, are the layers' weights in order (Keras `get_weights()`:
 * kernel, recurrent kernel, bias; forward then backward for Bidirectional; Dense kernel, bias), float32
 * little-endian, concatenated across the shards.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KerasCellWeights } from '../../schemas/forward.js';
import type { Limits } from '../config/config.js';
import {
  ACTIVATION_NAMES,
  type DenseActivation,
  type DenseWeights,
  type EmbeddingWeights,
  MERGE_MODES,
  type MergeMode,
  outputFeatures,
} from '../engine/index.js';
import { type ModelDescription, type ResolvedModel, resolveModel } from '../inference/model.js';
import { ProblemError } from '../errors/problem-error.js';
import { nested } from '../codec/tensors.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';

export const SUPPORTED_LAYERS =
  'Masking, Embedding, SimpleRNN, Bidirectional(SimpleRNN), Dense, TimeDistributed(Dense)';

/** A problem with the file; the loader prefixes the file name. */
export class TfjsModelError extends Error {}

interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name?: string; layer?: LayerJson };
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
}

export interface ImportedModel {
  readonly inputDim: number;
  readonly description: ModelDescription;
  readonly model: ResolvedModel;
}

function fail(message: string): never {
  throw new TfjsModelError(message);
}

/** Whether a parsed model.json is in the TF.js Layers format (rather than ours). */
export function isTfjsModel(json: unknown): json is { modelTopology: unknown; weightsManifest?: unknown } {
  return typeof json === 'object' && json !== null && 'modelTopology' in json;
}

/** Reads the weight shards and hands out the manifest's tensors in order, checking each one's shape. */
async function weightReader(file: string, manifest: unknown) {
  if (!Array.isArray(manifest)) fail('weightsManifest: is missing; expected [{paths, weights}]');
  const specs: WeightSpec[] = [];
  const buffers: Buffer[] = [];
  for (const [g, group] of (manifest as { paths: string[]; weights: WeightSpec[] }[]).entries()) {
    for (const path of group.paths) {
      if (path.includes('..') || path.startsWith('/'))
        fail(`weightsManifest[${g}].paths: '${path}' is outside the model's directory`);
      buffers.push(
        await readFile(join(dirname(file), path)).catch(() =>
          fail(`weightsManifest[${g}].paths: cannot read '${path}'`),
        ),
      );
    }
    specs.push(...group.weights);
  }
  const bytes = Buffer.concat(buffers);
  let offset = 0;
  let index = 0;
  return {
    /** The next tensor, which must have `shape`; `what` names it in messages. */
    take(shape: number[], what: string): Float32Array {
      const spec = specs[index];
      if (spec === undefined) fail(`weightsManifest: has ${specs.length} tensors; ${what} needs another`);
      if ((spec.dtype ?? 'float32') !== 'float32')
        fail(`weightsManifest: ${spec.name} is ${spec.dtype}; only float32 is supported`);
      if (spec.shape.join(',') !== shape.join(','))
        fail(`weightsManifest: ${spec.name} is [${spec.shape.join(', ')}]; ${what} needs [${shape.join(', ')}]`);
      const count = shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * count > bytes.length)
        fail(`the weight shards have ${bytes.length} bytes; ${spec.name} needs bytes up to ${offset + 4 * count}`);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(offset + 4 * i);
      offset += 4 * count;
      index += 1;
      return out;
    },
    done() {
      if (index !== specs.length)
        fail(
          `weightsManifest: ${specs[index].name} and ${specs.length - index - 1} more tensors belong to no supported layer`,
        );
      if (offset !== bytes.length)
        fail(`the weight shards have ${bytes.length} bytes; the manifest describes ${offset}`);
    },
  };
}

const named = (layer: LayerJson, k: number) =>
  `layer ${k} (${layer.class_name}${layer.config.name ? ` '${layer.config.name}'` : ''})`;

function activationOf(value: unknown, where: string, softmax: boolean): DenseActivation {
  const name = value === undefined ? 'linear' : String(value);
  const camel = name === 'hard_sigmoid' ? 'hardSigmoid' : name;
  if ((ACTIVATION_NAMES as readonly string[]).includes(camel) || (softmax && camel === 'softmax'))
    return camel as DenseActivation;
  return fail(
    `${where}: activation '${name}' is not supported (${[...ACTIVATION_NAMES, ...(softmax ? ['softmax'] : [])].join(', ')})`,
  );
}

export async function loadTfjsModel(
  file: string,
  json: { modelTopology: unknown; weightsManifest?: unknown },
  limits: Limits,
  cache: SeededWeightsCache,
): Promise<ImportedModel> {
  const topology = ((json.modelTopology as { model_config?: unknown }).model_config ?? json.modelTopology) as {
    class_name?: string;
    config?: unknown;
  };
  if (topology.class_name !== 'Sequential')
    fail(
      `modelTopology: is a ${topology.class_name ?? 'model without class_name'}; only Sequential models are supported`,
    );
  const layers = (
    Array.isArray(topology.config) ? topology.config : (topology.config as { layers?: unknown })?.layers
  ) as LayerJson[] | undefined;
  if (!Array.isArray(layers) || layers.length === 0) fail('modelTopology.config.layers: is missing or empty');
  const weights = await weightReader(file, json.weightsManifest);
  // An Embedding takes ids ([batch, time], sent as [batch, time, 1]); anything else [batch, time, features].
  let embedding: EmbeddingWeights | null = null;
  let inputDim: number;
  if (layers[0].class_name === 'Embedding') {
    const c = layers[0].config;
    const vocabulary = Number(c.input_dim);
    const outputDim = Number(c.output_dim);
    embedding = {
      inputDim: vocabulary,
      outputDim,
      embeddings: weights.take([vocabulary, outputDim], `${named(layers[0], 0)} embeddings`),
      maskZero: c.mask_zero === true,
    };
    inputDim = outputDim;
  } else {
    const inputShape = layers[0].config.batch_input_shape as (number | null)[] | undefined;
    if (!Array.isArray(inputShape) || inputShape.length !== 3 || typeof inputShape[2] !== 'number') {
      fail(
        `${named(layers[0], 0)}: batch_input_shape is ${JSON.stringify(inputShape)}; expected [batch, time, features] with features known`,
      );
    }
    inputDim = inputShape[2];
  }

  let maskValue: number | null = null;
  const rnnLayers: NonNullable<ModelDescription['layers']> = [];
  const cells: KerasCellWeights[] = [];
  let bidirectional: { mergeMode: MergeMode } | null | undefined;
  const head: DenseWeights[] = [];
  let features = inputDim;

  for (const [k, layer] of layers.entries()) {
    const where = named(layer, k);
    const config = layer.config;
    if (layer.class_name === 'Embedding') {
      if (k !== 0) fail(`${where}: Embedding is only supported as the first layer`);
      continue;
    }
    if (layer.class_name === 'Masking') {
      if (k !== 0) fail(`${where}: Masking is only supported as the first layer`);
      maskValue = Number(config.mask_value ?? 0);
      continue;
    }
    if (layer.class_name === 'SimpleRNN' || layer.class_name === 'Bidirectional') {
      if (head.length > 0) fail(`${where}: a recurrent layer after Dense layers is not supported`);
      const wrapped = layer.class_name === 'Bidirectional';
      const rnn = wrapped ? config.layer : layer;
      if (rnn?.class_name !== 'SimpleRNN')
        fail(`${where}: Bidirectional(${rnn?.class_name}) is not supported; supported: ${SUPPORTED_LAYERS}`);
      const mode: MergeMode | undefined = wrapped ? ((config.merge_mode ?? null) as MergeMode) : undefined;
      if (wrapped && mode !== null && !(MERGE_MODES as readonly string[]).includes(mode as string))
        fail(`${where}: merge_mode '${mode}' is not supported`);
      const thisDirection = wrapped ? { mergeMode: mode as MergeMode } : null;
      if (bidirectional !== undefined && JSON.stringify(bidirectional) !== JSON.stringify(thisDirection)) {
        fail(
          `${where}: every recurrent layer must be wrapped the same way (all unidirectional, or all Bidirectional with one merge_mode)`,
        );
      }
      bidirectional = thisDirection;
      const c = rnn.config;
      if (c.return_state === true) fail(`${where}: return_state true is not supported`);
      if (c.stateful === true) fail(`${where}: stateful is not supported`);
      if (c.return_sequences !== true)
        fail(
          `${where}: return_sequences false is not supported (the served model returns sequences; use returnSequences: false in a request)`,
        );
      const units = Number(c.units);
      const useBias = c.use_bias !== false;
      rnnLayers.push({
        hiddenSize: units,
        activation: activationOf(c.activation ?? 'tanh', where, false) as never,
        useBias,
        goBackwards: c.go_backwards === true,
      });
      for (const direction of wrapped ? ['forward', 'backward'] : ['']) {
        const label = `${where}${direction ? ` ${direction}` : ''}`;
        const kernel = weights.take([features, units], `${label} kernel`);
        const recurrentKernel = weights.take([units, units], `${label} recurrent kernel`);
        const bias = useBias ? weights.take([units], `${label} bias`) : null;
        cells.push({
          kernel: nested(kernel, [features, units]) as number[][],
          recurrentKernel: nested(recurrentKernel, [units, units]) as number[][],
          ...(bias ? { bias: Array.from(bias) } : {}),
        });
      }
      features = wrapped && mode === 'concat' ? 2 * units : units;
      continue;
    }
    if (
      layer.class_name === 'Dense' ||
      (layer.class_name === 'TimeDistributed' && config.layer?.class_name === 'Dense')
    ) {
      if (rnnLayers.length === 0) fail(`${where}: Dense before any recurrent layer is not supported`);
      if (bidirectional?.mergeMode === null)
        fail(`${where}: Dense after Bidirectional with merge_mode null is not supported`);
      const c = layer.class_name === 'Dense' ? config : config.layer!.config;
      const units = Number(c.units);
      const useBias = c.use_bias !== false;
      const kernel = weights.take([features, units], `${where} kernel`);
      const bias = useBias ? weights.take([units], `${where} bias`) : null;
      head.push({ inputDim: features, units, kernel, bias, activation: activationOf(c.activation, where, true) });
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
  if (rnnLayers.length === 0) fail(`modelTopology: has no SimpleRNN layer; supported: ${SUPPORTED_LAYERS}`);
  const description: ModelDescription = {
    layers: rnnLayers,
    ...(bidirectional ? { bidirectional } : {}),
    weights: cells,
  };
  let resolved: ResolvedModel;
  try {
    resolved = resolveModel(description, inputDim, limits, cache);
  } catch (error) {
    if (error instanceof ProblemError) fail(`as a model description: ${error.message}`);
    throw error;
  }
  const last = resolved.spec.layers.length - 1;
  if (head.length > 0 && head[0].inputDim !== outputFeatures(resolved.spec, last))
    fail('the first Dense layer does not fit the recurrent outputs');
  if (embedding !== null) return { inputDim: 1, description, model: { ...resolved, inputDim: 1, embedding, head } };
  return { inputDim, description, model: { ...resolved, maskValue, head } };
}
