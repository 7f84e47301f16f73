/**
 * forward-request.ts turns our forward routes' bodies into inference requests. Held to each tensor made (input from
 * nested or flat inputs or from text, lengths, mask, initial states) with the place the body wrote it, the options
 * and their places, a sequence's id and flags, the nested or flat answer, and each refusal's path and message.
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { ModelForwardRequest } from '../../schemas/models.js';
import {
  FORWARD_OPTIONS_AT,
  forwardEncoding,
  forwardRequest,
  modelForwardRequest,
} from '../../src/protocols/forward-request.js';
import { problemOf } from '../helpers/inference.js';

t.test('POST /rnn/forward: the described model, tensors placed where the body has them', async (t) => {
  const body = ForwardRequest.parse({
    inputs: [[[1, 0]]],
    hiddenSize: 2,
    lengths: [1],
    mask: [[true]],
    initialState: [[0.5, 0.5]],
    initialCellState: [[0, 0]],
    cell: 'lstm',
    returnSequences: false,
    topK: 1,
  });
  const request = forwardRequest(body);
  t.same(request.model, { kind: 'described', description: body });
  t.same(
    request.inputs.map((tensor) => [tensor.name, tensor.shape, tensor.values.kind, tensor.at.tensor]),
    [
      ['input', null, 'nested', 'inputs'],
      ['lengths', [1], 'flat', 'lengths'],
      ['mask', null, 'nested', 'mask'],
      ['initial_state', null, 'nested', 'initialState'],
      ['initial_cell_state', null, 'nested', 'initialCellState'],
    ],
  );
  t.equal(request.outputs, 'view');
  t.equal(request.options.returnSequences, false);
  t.equal(request.options.topK, 1);
  t.equal(request.optionsAt, FORWARD_OPTIONS_AT);
  t.same(FORWARD_OPTIONS_AT.topK, 'topK');
  t.equal(request.sequence, null);
  t.equal(request.elsewhere, null);
});

t.test('flat inputs and text', async (t) => {
  const flat = forwardRequest(ForwardRequest.parse({ inputs: { shape: [1, 1, 2], data: [1, 2] }, hiddenSize: 1 }));
  t.same(flat.inputs[0], {
    name: 'input',
    datatype: null,
    shape: [1, 1, 2],
    values: { kind: 'flat', value: [1, 2] },
    at: { tensor: 'inputs', shape: 'inputs.shape', data: 'inputs.data' },
  });
  const text = forwardRequest(ForwardRequest.parse({ text: ['ab'], vocabulary: 'ab', hiddenSize: 1 }));
  t.same(text.inputs[0].values, { kind: 'text', value: ['ab'] });
  t.same(text.inputs[0].at, { tensor: 'text', shape: 'text', data: 'text' });
  t.same(forwardRequest(ForwardRequest.parse({ hiddenSize: 1 })).inputs, [], 'neither: the backend says what it takes');
  t.same(
    problemOf(() => forwardRequest(ForwardRequest.parse({ inputs: [[[1]]], text: ['a'], hiddenSize: 1 }))).errors,
    [{ path: 'text', message: 'cannot be combined with inputs; send one or the other' }],
  );
  t.same(
    problemOf(() => forwardRequest(ForwardRequest.parse({ inputs: [[[1]]], vocabulary: 'a', hiddenSize: 1 }))).errors,
    [{ path: 'vocabulary', message: 'only applies to text; send text, or drop vocabulary' }],
  );
});

t.test('POST /models/{name}/forward: the served model, a sequence, where else to go', async (t) => {
  const body = ModelForwardRequest.parse({ inputs: [[[1]]], sequenceId: 42, sequenceStart: true });
  const request = modelForwardRequest(body, 'hello', '2');
  t.same(request.model, { kind: 'served', name: 'hello', version: '2' });
  t.same(request.sequence, { id: 42n, start: true, end: false, at: 'sequenceId', startAt: 'sequenceStart' });
  t.equal(request.elsewhere, 'POST /v2/models/hello/infer');
  t.same(modelForwardRequest(ModelForwardRequest.parse({ inputs: [[[1]]] }), 'hello').model, {
    kind: 'served',
    name: 'hello',
  });
  t.same(
    modelForwardRequest(ModelForwardRequest.parse({ inputs: [[[1]]], sequenceId: 'abc', sequenceEnd: true }), 'h')
      .sequence?.id,
    'abc',
    'a string id stays a string',
  );
  t.same(
    problemOf(() => modelForwardRequest(ModelForwardRequest.parse({ inputs: [[[1]]], sequenceEnd: true }), 'h')).errors,
    [{ path: 'sequenceEnd', message: 'applies to a stateful sequence: send sequenceId with it, or drop it' }],
  );
});

t.test('the answer is nested unless flat is asked for', async (t) => {
  t.same(forwardEncoding(undefined), { kind: 'forward', format: 'nested' });
  t.same(forwardEncoding('nested'), { kind: 'forward', format: 'nested' });
  t.same(forwardEncoding('flat'), { kind: 'forward', format: 'flat' });
  t.equal(forwardEncoding('flat'), forwardEncoding('flat'), 'made once');
});
