/**
 * Our forward routes' bodies → the inference request (inference/request.ts): POST /rnn/forward (a model described
 * in the body) and POST /models/{name}/forward (a model of the repository). `inputs` (nested or flat) or `text`
 * becomes the tensor `input`; `lengths`, `mask`, `initialState` and `initialCellState` the tensors of those
 * names; the rest are options. Each is placed where the body has it, so that problems name the body's own fields.
 * The answer's form (nested or flat JSON) is the encoding's (encoding.ts).
 */
import type { ForwardRequest } from '../../schemas/forward.js';
import type { ModelForwardRequest } from '../../schemas/models.js';
import { invalidAt } from '../errors/problem-error.js';
import type {
  InferenceRequest,
  OptionPlaces,
  RequestTensor,
  SequenceControl,
  TensorPlace,
} from '../inference/request.js';
import type { AnswerEncoding } from './encoding.js';

/** Each option where our bodies write it. */
export const FORWARD_OPTIONS_AT: OptionPlaces = {
  returnSequences: 'returnSequences',
  returnState: 'returnState',
  stateLayout: 'stateLayout',
  zeroOutputForMask: 'zeroOutputForMask',
  topK: 'topK',
  vocabulary: 'vocabulary',
  priority: 'priority',
  timeoutMs: 'timeoutMs',
};

const NESTED_AT: TensorPlace = { tensor: 'inputs', shape: 'inputs', data: 'inputs' };
const FLAT_AT: TensorPlace = { tensor: 'inputs', shape: 'inputs.shape', data: 'inputs.data' };
const TEXT_AT: TensorPlace = { tensor: 'text', shape: 'text', data: 'text' };
const place = (name: string): TensorPlace => ({ tensor: name, shape: name, data: name });
const LENGTHS_AT = place('lengths');
const MASK_AT = place('mask');
const STATE_AT = place('initialState');
const CELL_STATE_AT = place('initialCellState');

/** The nested answer (arrays of arrays) and the flat one, made once. */
const NESTED: AnswerEncoding = { kind: 'forward', format: 'nested' };
const FLAT: AnswerEncoding = { kind: 'forward', format: 'flat' };

export const forwardEncoding = (format: 'nested' | 'flat' | undefined): AnswerEncoding =>
  format === 'flat' ? FLAT : NESTED;

/**
 * `inputs` or `text`, one of them, as the tensor `input` (none when neither is given: the model's backend says
 * what it takes); `vocabulary` only with `text`.
 */
function inputTensor(body: ModelForwardRequest & Pick<ForwardRequest, 'vocabulary'>): RequestTensor | null {
  if (body.inputs !== undefined && body.text !== undefined)
    invalidAt('text', 'cannot be combined with inputs; send one or the other');
  if (body.vocabulary !== undefined && body.text === undefined)
    invalidAt('vocabulary', 'only applies to text; send text, or drop vocabulary');
  const { inputs } = body;
  if (inputs !== undefined) {
    if (Array.isArray(inputs))
      return { name: 'input', datatype: null, shape: null, values: { kind: 'nested', value: inputs }, at: NESTED_AT };
    return {
      name: 'input',
      datatype: null,
      shape: inputs.shape,
      values: { kind: 'flat', value: inputs.data },
      at: FLAT_AT,
    };
  }
  if (body.text === undefined) return null;
  return { name: 'input', datatype: null, shape: null, values: { kind: 'text', value: body.text }, at: TEXT_AT };
}

/** The tensors of a body: the input, and the optional lengths, mask and initial states. */
function tensorsOf(body: ModelForwardRequest & Pick<ForwardRequest, 'vocabulary'>): RequestTensor[] {
  const input = inputTensor(body);
  const tensors = input === null ? [] : [input];
  const nested = (name: string, value: readonly unknown[], at: TensorPlace): RequestTensor => ({
    name,
    datatype: null,
    shape: null,
    values: { kind: 'nested', value },
    at,
  });
  if (body.lengths !== undefined)
    tensors.push({
      name: 'lengths',
      datatype: null,
      shape: [body.lengths.length],
      values: { kind: 'flat', value: body.lengths },
      at: LENGTHS_AT,
    });
  if (body.mask !== undefined) tensors.push(nested('mask', body.mask, MASK_AT));
  if (body.initialState !== undefined) tensors.push(nested('initial_state', body.initialState, STATE_AT));
  if (body.initialCellState !== undefined)
    tensors.push(nested('initial_cell_state', body.initialCellState, CELL_STATE_AT));
  return tensors;
}

/** POST /rnn/forward: the body describes the model too. */
export function forwardRequest(body: ForwardRequest): InferenceRequest {
  return {
    model: { kind: 'described', description: body },
    inputs: tensorsOf(body),
    outputs: 'view',
    options: body,
    optionsAt: FORWARD_OPTIONS_AT,
    elsewhere: null,
    sequence: null,
  };
}

/** `sequenceId` and its flags: one chunk of a stateful sequence, or none (the flags alone are refused). */
function sequenceOf(body: ModelForwardRequest): SequenceControl | null {
  const { sequenceId, sequenceStart, sequenceEnd } = body;
  if (sequenceId === undefined) {
    const flag = sequenceStart !== undefined ? 'sequenceStart' : sequenceEnd !== undefined ? 'sequenceEnd' : null;
    if (flag !== null) invalidAt(flag, 'applies to a stateful sequence: send sequenceId with it, or drop it');
    return null;
  }
  return {
    id: typeof sequenceId === 'number' ? BigInt(sequenceId) : sequenceId,
    start: sequenceStart ?? false,
    end: sequenceEnd ?? false,
    at: 'sequenceId',
    startAt: 'sequenceStart',
  };
}

/** POST /models/{name}[/versions/{version}]/forward. */
export function modelForwardRequest(body: ModelForwardRequest, name: string, version?: string): InferenceRequest {
  return {
    model: version === undefined ? { kind: 'served', name } : { kind: 'served', name, version },
    inputs: tensorsOf(body),
    outputs: 'view',
    options: body,
    optionsAt: FORWARD_OPTIONS_AT,
    elsewhere: `POST /v2/models/${name}/infer`,
    sequence: sequenceOf(body),
  };
}
