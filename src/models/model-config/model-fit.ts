/**
 * A model's configuration held against the model its version directory loaded: what config.pbtxt says of the
 * model (`platform`/`backend`, `input` and `output` names, datatypes and dims, the state pairs of
 * `sequence_batching`) must be true of it, or the version is refused with the field, its line and what the model
 * has. Names are the Open Inference Protocol's: for a layer model `input`, `lengths`, `initial_state` (or
 * `initial_state_0`, ...), `output`, `state`, `cell_state`...; for an ONNX graph its own input and output names.
 *
 * Dims follow Triton: with `max_batch_size` ≥ 1 they leave out the first (batch) dimension, which must then be
 * dynamic in the model; -1 is any size; none given, the model's (so `lengths`, [batch], needs none). A configuration may fix a size the model leaves open (requests are then held
 * to it, as Triton does); it may not open one the model fixes, nor fix it to another size.
 */
import { OIP_DATATYPE } from '../../../schemas/oip.js';
import { invalidAt } from '../../errors/problem-error.js';
import type { RequestTensor } from '../../inference/request.js';
import { LAYER_INPUT, LAYER_LENGTHS, cellStateNames, stateNames } from '../../inference/layer-names.js';
import { LAYERS_PLATFORM, layerMetadata } from '../layer-metadata.js';
import { ONNX_PLATFORM } from '../onnx/metadata.js';
import type { ServedModel } from '../model-file.js';
import { closest } from './proto-check.js';
import { type ModelConfig, ModelConfigError, type TensorConfig, lineOf } from './model-config.js';

const FLOATS = ['FP32', 'FP64', 'FP16'];
const INTEGERS = ['INT64', 'INT32'];

/** One input or output of a loaded model, as the configuration may describe it. */
export interface ModelTensor {
  readonly name: string;
  /** The datatypes it takes (inputs) or answers in (outputs); the first is the one its metadata declares. */
  readonly datatypes: readonly string[];
  /** Its whole shape, batch dimension included, -1 for any size. */
  readonly shape: readonly number[];
  /** Inputs only: whether a request may leave it out. */
  readonly optional: boolean;
}

export interface ModelTensors {
  readonly inputs: readonly ModelTensor[];
  readonly outputs: readonly ModelTensor[];
}

/** Platforms and backends a configuration may name for each kind of model file (Triton's names, and ours). */
const ACCEPTED = {
  onnx: { platforms: ['onnxruntime_onnx', ONNX_PLATFORM], backends: ['onnxruntime', 'rnn-serve'], file: 'model.onnx' },
  rnn: { platforms: [LAYERS_PLATFORM], backends: ['rnn-serve'], file: 'model.json' },
} as const;

/** The inputs and outputs of a loaded model, in the protocol's names. */
export function modelTensors(served: ServedModel): ModelTensors {
  if (served.kind === 'onnx') {
    const accepted = (datatype: string) =>
      datatype === 'FP32' ? FLOATS : INTEGERS.includes(datatype) ? INTEGERS : [datatype];
    return {
      inputs: served.program.inputs.map((t) => ({
        name: t.name,
        datatypes: accepted(t.datatype),
        shape: t.shape,
        optional: false,
      })),
      outputs: served.program.outputs.map((t) => ({
        name: t.name,
        datatypes: [t.datatype],
        shape: t.shape,
        optional: false,
      })),
    };
  }
  const outputs = layerMetadata(served).outputs;
  const stateShape = (name: string) => outputs.find((o) => o.name === name)?.shape ?? [-1, -1];
  const states = [...stateNames(served.model), ...cellStateNames(served.model)].map((name) => ({
    name: `initial_${name}`,
    datatypes: FLOATS,
    shape: stateShape(name),
    optional: true,
  }));
  const ids = served.model.embedding !== null && served.model.embedding !== undefined;
  return {
    inputs: [
      {
        name: LAYER_INPUT,
        datatypes: ids ? [...FLOATS, ...INTEGERS] : FLOATS,
        shape: [-1, -1, served.model.inputDim],
        optional: false,
      },
      { name: LAYER_LENGTHS, datatypes: INTEGERS, shape: [-1], optional: true },
      ...states,
    ],
    outputs: outputs.map((o) => ({ name: o.name, datatypes: [OIP_DATATYPE], shape: o.shape, optional: false })),
  };
}

const formatDims = (dims: readonly number[]) => `[${dims.join(', ')}]`;

class Fit {
  constructor(
    private readonly config: ModelConfig,
    private readonly served: ServedModel,
  ) {}

  fail(path: string, problem: string): never {
    const source = this.config.source ?? 'config.pbtxt';
    throw new ModelConfigError(source, lineOf(this.config.lines, path), path, `${problem} (${this.served.file})`);
  }

  /** The model's shape as the configuration writes it: without the batch dimension when max_batch_size ≥ 1. */
  configShape(tensor: ModelTensor, what: string, path: string): readonly number[] {
    if (this.config.maxBatchSize === 0) return tensor.shape;
    if (tensor.shape[0] !== -1)
      this.fail(
        path,
        `max_batch_size is ${this.config.maxBatchSize}, but the model's ${what} '${tensor.name}' is ${formatDims(tensor.shape)}: its first dimension is not a batch of any size`,
      );
    return tensor.shape.slice(1);
  }

  /** Dims given (none: the model's, unchecked) against the model's shape. */
  dims(given: readonly number[], tensor: ModelTensor, what: string, path: string): void {
    const expected = this.configShape(tensor, what, path);
    if (given.length === 0) return;
    const batch = this.config.maxBatchSize > 0 ? ' (without the batch dimension, max_batch_size ≥ 1)' : '';
    if (given.length !== expected.length)
      this.fail(
        `${path}.dims`,
        `is ${formatDims(given)}; the model's ${what} '${tensor.name}' is ${formatDims(tensor.shape)}, so dims ${formatDims(expected)}${batch}`,
      );
    given.forEach((d, i) => {
      const model = expected[i];
      if (model === -1 || d === model) return;
      this.fail(
        `${path}.dims[${i}]`,
        d === -1
          ? `is -1 (any size), but the model's ${what} '${tensor.name}' takes exactly ${model} there (dims ${formatDims(expected)})`
          : `is ${d}, but the model's ${what} '${tensor.name}' has ${model} there (dims ${formatDims(expected)})`,
      );
    });
  }

  datatype(given: string | null, tensor: ModelTensor, what: string, path: string): void {
    if (given === null || tensor.datatypes.includes(given)) return;
    this.fail(
      `${path}.data_type`,
      `is TYPE_${given === 'BYTES' ? 'STRING' : given}; the model's ${what} '${tensor.name}' is ${tensor.datatypes.map((d) => `TYPE_${d}`).join(' or ')}`,
    );
  }

  tensor(known: readonly ModelTensor[], name: string, what: string, path: string): ModelTensor {
    const tensor = known.find((t) => t.name === name);
    if (tensor !== undefined) return tensor;
    const names = known.map((t) => t.name);
    const hint = closest(name, names);
    return this.fail(
      path,
      `the model has no ${what} '${name}'${hint === null ? '' : `; did you mean '${hint}'?`} (its ${what}s: ${names.join(', ')})`,
    );
  }

  tensors(given: readonly TensorConfig[], known: readonly ModelTensor[], what: 'input' | 'output'): void {
    given.forEach((config, i) => {
      const path = `${what}[${i}]`;
      const tensor = this.tensor(known, config.name, what, `${path}.name`);
      this.datatype(config.datatype, tensor, what, path);
      this.dims(config.dims, tensor, what, path);
    });
    if (what === 'input' && given.length > 0) {
      const missing = known.filter((t) => !t.optional && !given.some((g) => g.name === t.name));
      if (missing.length > 0)
        this.fail('input', `does not list the model's input '${missing[0].name}', which every request needs`);
    }
  }

  platform(): void {
    const accepted = ACCEPTED[this.served.kind];
    const { platform, backend } = this.config;
    if (platform !== null && !(accepted.platforms as readonly string[]).includes(platform))
      this.fail(
        'platform',
        `is '${platform}', but the version holds ${accepted.file} (platform ${accepted.platforms.join(' or ')})`,
      );
    if (backend !== null && !(accepted.backends as readonly string[]).includes(backend))
      this.fail(
        'backend',
        `is '${backend}', but the version holds ${accepted.file} (backend ${accepted.backends.join(' or ')})`,
      );
  }

  states(tensors: ModelTensors): void {
    this.config.sequenceBatching?.states.forEach((state, i) => {
      const path = `sequence_batching.state[${i}]`;
      const input = this.tensor(tensors.inputs, state.inputName, 'input', `${path}.input_name`);
      const output = this.tensor(tensors.outputs, state.outputName, 'output', `${path}.output_name`);
      if (this.served.kind === 'rnn' && input.name !== `initial_${output.name}`)
        this.fail(
          `${path}.output_name`,
          `is '${output.name}', but the state that input '${input.name}' starts from is output '${input.name.slice('initial_'.length)}'`,
        );
      const [inShape, outShape] = [this.configShape(input, 'input', path), this.configShape(output, 'output', path)];
      if (
        inShape.length !== outShape.length ||
        inShape.some((d, k) => d !== -1 && outShape[k] !== -1 && d !== outShape[k])
      )
        this.fail(
          path,
          `pairs input '${input.name}' ${formatDims(input.shape)} with output '${output.name}' ${formatDims(output.shape)}: their shapes differ`,
        );
      this.datatype(state.datatype, input, 'input', path);
      this.dims(state.dims, input, 'input', path);
      state.initialStates.forEach((initial, j) => {
        this.datatype(initial.datatype, input, 'input', `${path}.initial_state[${j}]`);
        this.dims(initial.dims, input, 'input', `${path}.initial_state[${j}]`);
      });
    });
  }
}

/**
 * Checks `config` against the model a version loaded; throws a ModelConfigError naming the field (and its line)
 * and the model's file when they disagree.
 */
export function fitModelConfig(config: ModelConfig, served: ServedModel): void {
  const fit = new Fit(config, served);
  fit.platform();
  const tensors = modelTensors(served);
  fit.tensors(config.inputs, tensors.inputs, 'input');
  fit.tensors(config.outputs, tensors.outputs, 'output');
  fit.states(tensors);
}

/**
 * An inference request's inputs held to the configuration, as Triton holds them: the batch (the first dimension) at
 * most `max_batch_size` when batching is configured, and each input the configuration lists with dims of its
 * shape (the batch dimension left out when max_batch_size ≥ 1; -1: any size). Inputs whose shape their values carry
 * (nested JSON, texts) are held by `checkRequestBatch` once planned.
 */
export function checkRequestShapes(config: ModelConfig, inputs: readonly RequestTensor[]): void {
  const batched = config.maxBatchSize > 0;
  for (const { name, shape, at } of inputs) {
    if (shape === null) continue;
    checkRequestBatch(config, shape[0] ?? 0, at.shape);
    const dims = config.inputs.find((input) => input.name === name)?.dims ?? [];
    if (dims.length === 0) continue;
    const given = batched ? shape.slice(1) : shape;
    const expected = batched ? `[batch, ${dims.join(', ')}]` : `[${dims.join(', ')}]`;
    if (given.length !== dims.length || dims.some((d, k) => d !== -1 && given[k] !== d))
      invalidAt(
        at.shape,
        `is [${shape.join(', ')}]; the model configuration gives input '${name}' the shape ${expected} (-1: any size)`,
      );
  }
}

/** A batch of `batch` sequences held to the configuration's max_batch_size (when batching is configured). */
export function checkRequestBatch(config: ModelConfig, batch: number, path: string): void {
  if (config.maxBatchSize > 0 && batch > config.maxBatchSize)
    invalidAt(path, `has a batch of ${batch}; model configuration max_batch_size is ${config.maxBatchSize}`);
}
