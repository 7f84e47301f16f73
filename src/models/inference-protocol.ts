/**
 * The Open Inference Protocol (KServe v2) view of a served model: one input `input` [batch, time, inputDim]
 * and outputs `output` (every step) and `state` (the final state; `state_0`, `state_1`, ... for a stack or a
 * bidirectional model, one per layer and direction), all FP32. An infer request becomes the ModelForwardRequest
 * of POST /models/{name}/forward (flat inputs, flat outputs), so it runs through the same plan and runner.
 */
import { type OipInferenceRequest, type OipInferenceResponse, OIP_DATATYPE } from '../../schemas/oip.js';
import type { ModelForwardRequest } from '../../schemas/models.js';
import { directionsOf } from '../engine/index.js';
import { modelOutputFeatures } from '../inference/model.js';
import { ProblemError, invalidAt, truncated } from '../errors/problem-error.js';
import type { ServedModel } from './repository.js';

export const OIP_INPUT = 'input';
export const OIP_OUTPUT = 'output';
export const OIP_PLATFORM = 'rnn-serve_json';

export interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** The state outputs' names: `state` for one layer and direction, else `state_i` in state order. */
export function stateNames(served: ServedModel): string[] {
  const count = served.model.spec.layers.length * directionsOf(served.model.spec);
  return count === 1 ? ['state'] : Array.from({ length: count }, (_, i) => `state_${i}`);
}

export function oipInputs(served: ServedModel): OipTensor[] {
  return [{ name: OIP_INPUT, datatype: OIP_DATATYPE, shape: [-1, -1, served.model.inputDim] }];
}

export function oipOutputs(served: ServedModel): OipTensor[] {
  const { spec } = served.model;
  const last = spec.layers.length - 1;
  const output =
    spec.bidirectional?.mergeMode === null
      ? [2, -1, -1, spec.layers[last].hiddenSize]
      : [-1, -1, modelOutputFeatures(served.model)];
  const directions = directionsOf(spec);
  const states = stateNames(served).map((name, i) => ({
    name,
    datatype: OIP_DATATYPE,
    shape: [-1, spec.layers[Math.floor(i / directions)].hiddenSize],
  }));
  return [{ name: OIP_OUTPUT, datatype: OIP_DATATYPE, shape: output }, ...states];
}

/** Flat or nested `data` → flat numbers; a nested array must follow `shape` level by level. */
function flatData(data: unknown[], shape: number[], path: string): number[] {
  if (data.every((x) => typeof x === 'number')) return data as number[];
  const out: number[] = [];
  const walk = (node: unknown, depth: number, at: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number')
        invalidAt(
          at,
          `is ${Array.isArray(node) ? 'an array' : typeof node}; expected a number (shape has ${shape.length} dimensions)`,
        );
      out.push(node);
      return;
    }
    if (!Array.isArray(node))
      invalidAt(at, `is a number; expected ${shape[depth]} entries (dimension ${depth} of shape)`);
    if (node.length !== shape[depth])
      invalidAt(at, `has ${node.length} entries; expected ${shape[depth]} (dimension ${depth} of shape)`);
    node.forEach((item, i) => walk(item, depth + 1, `${at}[${i}]`));
  };
  walk(data, 0, path);
  return out;
}

export interface OipPlan {
  readonly body: ModelForwardRequest;
  /** The outputs to answer, in order. */
  readonly outputs: string[];
}

/**
 * The names in `outputs` (default: all of the model's), each known and named once. Every copy of an output
 * would be written into the answer again: 1,000 copies of a 1,000-step `output` made a 33 MB answer from one
 * pass, built on the event loop. A list longer than the model's outputs necessarily repeats one, so this loop stops by
 * entry `known.length` at the latest and its work is bounded by the model, not by the request. Checked before
 * the input data is walked and before any compute.
 */
function requestedOutputs(served: ServedModel, request: OipInferenceRequest): string[] {
  const known = [OIP_OUTPUT, ...stateNames(served)];
  if (request.outputs === undefined) return known;
  const seenAt = new Map<string, number>();
  for (const [i, { name }] of request.outputs.entries()) {
    if (!known.includes(name))
      invalidAt(
        `outputs[${i}].name`,
        `is '${truncated(name)}'; the model's outputs are ${known.map((k) => `'${k}'`).join(', ')}`,
      );
    const first = seenAt.get(name);
    if (first !== undefined)
      invalidAt(
        `outputs[${i}].name`,
        `'${name}' is requested again (also outputs[${first}]); each output may be named once`,
      );
    seenAt.set(name, i);
  }
  return [...seenAt.keys()];
}

/** An infer request → the served model's forward request, checking names, datatypes and shapes. */
export function oipForwardRequest(served: ServedModel, request: OipInferenceRequest): OipPlan {
  if (request.inputs.length !== 1)
    invalidAt('inputs', `has ${request.inputs.length} tensors; the model takes 1, named '${OIP_INPUT}'`);
  const input = request.inputs[0];
  if (input.name !== OIP_INPUT)
    invalidAt('inputs[0].name', `is '${truncated(input.name)}'; the model's input is '${OIP_INPUT}'`);
  if (input.datatype !== OIP_DATATYPE)
    invalidAt('inputs[0].datatype', `is '${truncated(input.datatype)}'; input '${OIP_INPUT}' is ${OIP_DATATYPE}`);
  if (input.shape.length !== 3)
    invalidAt(
      'inputs[0].shape',
      `has ${input.shape.length} dimensions; expected 3 ([batch, time, ${served.model.inputDim}])`,
    );
  const outputs = requestedOutputs(served, request);
  const data = flatData(input.data, input.shape, 'inputs[0].data');
  return {
    body: {
      inputs: { shape: input.shape, data },
      returnSequences: true,
      returnState: outputs.some((name) => name !== OIP_OUTPUT),
      outputFormat: 'flat',
    },
    outputs,
  };
}

interface FlatTensor {
  shape: number[];
  data: number[];
}

/** The flat /models/{name}/forward answer → the protocol's response, the requested outputs in order. */
export function oipResponse(
  served: ServedModel,
  request: OipInferenceRequest,
  plan: OipPlan,
  answer: { outputs: FlatTensor; states?: FlatTensor | FlatTensor[] },
): OipInferenceResponse {
  const states = answer.states === undefined ? [] : Array.isArray(answer.states) ? answer.states : [answer.states];
  const names = stateNames(served);
  const tensor = (name: string): FlatTensor => (name === OIP_OUTPUT ? answer.outputs : states[names.indexOf(name)]);
  return {
    model_name: served.name,
    model_version: served.version,
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: plan.outputs.map((name) => ({ name, datatype: OIP_DATATYPE, ...tensor(name) })),
  };
}

/** Problems found by the /models path name `inputs.shape`/`inputs.data`; in the protocol's body that is inputs[0]. */
export function inProtocolTerms(error: unknown): unknown {
  if (!(error instanceof ProblemError)) return error;
  const rename = (path: string) => path.replace(/^inputs\.(shape|data)/, 'inputs[0].$1');
  return ProblemError.at(
    error.kind,
    error.errors.length > 0
      ? error.errors.map((e) => ({ ...e, path: rename(e.path) }))
      : [{ path: '$', message: error.message }],
    error.errorCount,
  );
}
