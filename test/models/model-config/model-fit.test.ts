/**
 * A configuration held against the model its version loaded: names, datatypes and dims of inputs and outputs
 * (batch dimension left out with max_batch_size ≥ 1, narrowing allowed, widening or contradicting refused),
 * platform and backend against the model file, and sequence state pairs. A disagreement names the config line,
 * the field, what the model has, and the model's file.
 */
import t from 'tap';
import { defaultConfig } from '../../../src/config/config.js';
import { SeededWeightsCache } from '../../../src/inference/weights-cache.js';
import { ModelConfigError, parseModelConfig } from '../../../src/models/model-config/model-config.js';
import { fitModelConfig, modelTensors } from '../../../src/models/model-config/model-fit.js';
import { type ServedModel, loadModelFile } from '../../../src/models/model-file.js';
import { RepositoryFiles } from '../../../src/models/repository-files.js';
import { SHIPPED_MODELS } from '../../helpers/build.js';
import { ONNX_FIXTURES } from '../../helpers/onnx.js';

const cache = new SeededWeightsCache(0);

async function load(dir: string, file: string): Promise<ServedModel> {
  const files = (await RepositoryFiles.at(dir))!;
  const [name, version] = file.split('/');
  return loadModelFile(files, file, name, version, defaultConfig.limits, cache);
}

const fit = (served: ServedModel, text: string) =>
  fitModelConfig(parseModelConfig(text, `${served.name}/config.pbtxt`, { name: served.name }), served);

function refused(t: { fail(message: string): void }, served: ServedModel, text: string): ModelConfigError {
  try {
    fit(served, text);
  } catch (error) {
    if (error instanceof ModelConfigError) return error;
    throw error;
  }
  t.fail(`accepted: ${text}`);
  return new ModelConfigError('', 0, '', '');
}

t.test('a layer model: the protocol names, batch dimension by max_batch_size', async (t) => {
  const hello = await load(SHIPPED_MODELS, 'hello/1/model.json');
  t.same(
    modelTensors(hello).inputs.map((i) => [i.name, i.shape, i.optional]),
    [
      ['input', [-1, -1, 4], false],
      ['lengths', [-1], true],
      ['initial_state', [-1, 3], true],
    ],
  );
  const accepted = [
    '',
    'platform: "rnn-serve_json"',
    'backend: "rnn-serve"',
    'max_batch_size: 8\ninput [{ name: "input" data_type: TYPE_FP32 dims: [ -1, 4 ] }]',
    'input [{ name: "input" dims: [ -1, -1, 4 ] }, { name: "lengths" data_type: TYPE_INT64 dims: [ -1 ] optional: true }]',
    'max_batch_size: 8\ninput [{ name: "input" dims: [ 10, 4 ] }]\noutput [{ name: "state" dims: [ 3 ] }]',
    'max_batch_size: 4\nsequence_batching { state [{ input_name: "initial_state" output_name: "state" data_type: TYPE_FP32 dims: [ 3 ] }] }',
  ];
  for (const text of accepted) t.doesNotThrow(() => fit(hello, text), JSON.stringify(text));

  const cases: [string, number, string, RegExp][] = [
    [
      'platform: "onnxruntime_onnx"',
      1,
      'platform',
      /is 'onnxruntime_onnx', but the version holds model\.json \(platform rnn-serve_json\) \(hello\/1\/model\.json\)/,
    ],
    ['backend: "python"', 1, 'backend', /is 'python', but the version holds model\.json \(backend rnn-serve\)/],
    [
      '\ninput [{ name: "inputs" }]',
      2,
      'input[0].name',
      /the model has no input 'inputs'; did you mean 'input'\? \(its inputs: input, lengths, initial_state\)/,
    ],
    [
      'input [{ name: "lengths" dims: [ -1 ] }]',
      1,
      'input',
      /does not list the model's input 'input', which every request needs/,
    ],
    [
      'max_batch_size: 8\ninput [{ name: "input" dims: [ -1, -1, 4 ] }]',
      2,
      'input[0].dims',
      /is \[-1, -1, 4\]; the model's input 'input' is \[-1, -1, 4\], so dims \[-1, 4\] \(without the batch dimension, max_batch_size ≥ 1\)/,
    ],
    [
      'input [{ name: "input" dims: [ -1, -1, 5 ] }]',
      1,
      'input[0].dims[2]',
      /is 5, but the model's input 'input' has 4 there \(dims \[-1, -1, 4\]\)/,
    ],
    [
      'input [{ name: "input" dims: [ -1, -1, -1 ] }]',
      1,
      'input[0].dims[2]',
      /is -1 \(any size\), but the model's input 'input' takes exactly 4 there/,
    ],
    [
      'input [{ name: "input" data_type: TYPE_INT64 dims: [ -1, -1, 4 ] }]',
      1,
      'input[0].data_type',
      /is TYPE_INT64; the model's input 'input' is TYPE_FP32 or TYPE_FP64 or TYPE_FP16/,
    ],
    [
      'output [{ name: "output" data_type: TYPE_STRING dims: [ -1, -1, 3 ] }]',
      1,
      'output[0].data_type',
      /is TYPE_STRING; the model's output 'output' is TYPE_FP32/,
    ],
    ['output [{ name: "states" }]', 1, 'output[0].name', /no output 'states'; did you mean 'state'\?/],
    [
      'sequence_batching { state [{ input_name: "initial_state" output_name: "output" }] }',
      1,
      'sequence_batching.state[0].output_name',
      /is 'output', but the state that input 'initial_state' starts from is output 'state'/,
    ],
  ];
  for (const [text, line, path, problem] of cases) {
    const error = refused(t, hello, text);
    t.same([error.line, error.path], [line, path], `${JSON.stringify(text)}: ${path}`);
    t.match(error.problem, problem);
    t.match(
      error.message,
      /^hello\/config\.pbtxt:\d+: .*\(hello\/1\/model\.json\)$/,
      'names the config line and the model file',
    );
  }
});

t.test('a TF.js model taking token ids: integer datatypes accepted for input', async (t) => {
  const nextChar = await load(SHIPPED_MODELS, 'next-char/1/model.json');
  t.doesNotThrow(() =>
    fit(
      nextChar,
      'max_batch_size: 2\ninput [{ name: "input" data_type: TYPE_INT64 dims: [ -1, 1 ] }]\noutput [{ name: "output" dims: [ 4 ] }]',
    ),
  );
});

t.test("an ONNX graph: its own names; Triton's platform and backend names", async (t) => {
  const sentiment = await load(SHIPPED_MODELS, 'sentiment-onnx/1/model.onnx');
  for (const text of [
    'platform: "onnxruntime_onnx"\nmax_batch_size: 16\ninput [{ name: "ids" data_type: TYPE_INT64 dims: [ -1 ] }]\noutput [{ name: "probs" data_type: TYPE_FP32 dims: [ 2 ] }]',
    'backend: "onnxruntime"',
    'platform: "rnn-serve_onnx"',
  ])
    t.doesNotThrow(() => fit(sentiment, text), text);
  const error = refused(t, sentiment, 'platform: "rnn-serve_json"');
  t.match(error.problem, /the version holds model\.onnx \(platform onnxruntime_onnx or rnn-serve_onnx\)/);

  // h0 [num_directions·layers, batch, hidden]: the batch is not the first dimension.
  const stacked = await load(ONNX_FIXTURES, 'lstm-2-bf-h0/model.onnx');
  t.doesNotThrow(() =>
    fit(
      stacked,
      'sequence_batching { state [{ input_name: "h0" output_name: "h_n" dims: [ 2, -1, 5 ] }, { input_name: "c0" output_name: "c_n" }] }',
    ),
  );
  const batched = refused(
    t,
    stacked,
    'max_batch_size: 2\nsequence_batching { state [{ input_name: "h0" output_name: "h_n" }] }',
  );
  t.match(
    batched.problem,
    /max_batch_size is 2, but the model's input 'h0' is \[2, -1, 5\]: its first dimension is not a batch of any size/,
  );
  const crossed = refused(t, stacked, 'sequence_batching { state [{ input_name: "x" output_name: "h_n" }] }');
  t.match(crossed.problem, /pairs input 'x' \[-1, -1, 2\] with output 'h_n' \[2, -1, 5\]: their shapes differ/);
});
