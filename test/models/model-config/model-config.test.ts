/**
 * config.pbtxt read into what rnn-serve honours: configurations written the way Triton's documentation writes them
 * (an ONNX model with dynamic batching, a stateful sequence model, a Python-backend style model with parameters)
 * load, typed; what changes answers and is not implemented (ensembles, GPU instances, reshapes, decoupled
 * answers, repository agents...) is refused naming the field and line; backend tuning is ignored and listed.
 */
import t from 'tap';
import {
  type ModelConfig,
  ModelConfigError,
  defaultModelConfig,
  modelConfigFromJson,
  parseModelConfig,
} from '../../../src/models/model-config/model-config.js';

const CONTEXT = { name: 'm' };
const read = (text: string): ModelConfig => parseModelConfig(text, 'm/config.pbtxt', CONTEXT);

function refusal(t: { fail(message: string): void }, text: string): ModelConfigError {
  try {
    read(text);
  } catch (error) {
    if (error instanceof ModelConfigError) return error;
    throw error;
  }
  t.fail(`accepted: ${text}`);
  return new ModelConfigError('', 0, '', '');
}

t.test('an ONNX model with dynamic batching, as Triton documents one', async (t) => {
  const config = read(`
    name: "m"
    platform: "onnxruntime_onnx"
    max_batch_size: 16
    input [
      {
        name: "ids"
        data_type: TYPE_INT64
        dims: [ -1 ]
      }
    ]
    output [
      {
        name: "probs"
        data_type: TYPE_FP32
        dims: [ 2 ]
      }
    ]
    dynamic_batching {
      preferred_batch_size: [ 4, 8 ]
      max_queue_delay_microseconds: 500
      preserve_ordering: true
      priority_levels: 3
      default_priority_level: 2
      default_queue_policy {
        timeout_action: REJECT
        default_timeout_microseconds: 100000
        allow_timeout_override: true
        max_queue_size: 32
      }
      priority_queue_policy {
        key: 1
        value: { timeout_action: REJECT max_queue_size: 8 }
      }
    }
    instance_group [ { count: 2, kind: KIND_CPU } ]
  `);
  t.same(
    { platform: config.platform, backend: config.backend, maxBatchSize: config.maxBatchSize },
    { platform: 'onnxruntime_onnx', backend: null, maxBatchSize: 16 },
  );
  t.same(config.inputs, [{ name: 'ids', datatype: 'INT64', dims: [-1], optional: false }]);
  t.same(config.outputs, [{ name: 'probs', datatype: 'FP32', dims: [2], optional: false }]);
  t.same(config.versionPolicy, { kind: 'latest', count: 1 }, "no version_policy: Triton's default, the latest");
  t.same(config.dynamicBatching, {
    preferredBatchSizes: [4, 8],
    maxQueueDelayMicroseconds: 500,
    preserveOrdering: true,
    priorityLevels: 3,
    defaultPriorityLevel: 2,
    defaultQueuePolicy: {
      timeoutAction: 'REJECT',
      defaultTimeoutMicroseconds: 100000,
      allowTimeoutOverride: true,
      maxQueueSize: 32,
    },
    priorityQueuePolicies: new Map([
      [1, { timeoutAction: 'REJECT', defaultTimeoutMicroseconds: 0, allowTimeoutOverride: false, maxQueueSize: 8 }],
    ]),
  });
  t.equal(config.sequenceBatching, null);
  t.match(config.ignored, [/^instance_group \(every model runs on the shared worker pool, POOL_THREADS\)$/]);
  t.equal(config.lines.get('dynamic_batching.priority_queue_policy[1]'), 31);
});

t.test(
  'a sequence model with implicit state: state pairs honoured, control inputs ignored with the reason',
  async (t) => {
    const config = read(`
    backend: "onnxruntime"
    max_batch_size: 4
    sequence_batching {
      max_sequence_idle_microseconds: 5000000
      control_input [
        {
          name: "START"
          control [ { kind: CONTROL_SEQUENCE_START fp32_false_true: [ 0, 1 ] } ]
        }
      ]
      state [
        {
          input_name: "h0"
          output_name: "h_n"
          data_type: TYPE_FP32
          dims: [ -1 ]
          initial_state: { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true name: "zeros" }
        }
      ]
      oldest { max_candidate_sequences: 4 preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 }
    }
    version_policy: { specific: { versions: [ 1, 3, 3 ] } }
  `);
    t.same(config.sequenceBatching, {
      maxSequenceIdleMicroseconds: 5_000_000,
      states: [
        {
          inputName: 'h0',
          outputName: 'h_n',
          datatype: 'FP32',
          dims: [-1],
          initialStates: [{ name: 'zeros', datatype: 'FP32', dims: [4] }],
        },
      ],
      strategy: {
        kind: 'oldest',
        maxCandidateSequences: 4,
        preferredBatchSizes: [2, 4],
        maxQueueDelayMicroseconds: 100,
        preserveOrdering: false,
      },
    });
    t.same(config.versionPolicy, { kind: 'specific', versions: ['1', '3'] });
    t.match(config.ignored, [/^sequence_batching\.control_input \(sequences are named by the sequence_id/]);
    t.equal(
      read('sequence_batching { }').sequenceBatching?.maxSequenceIdleMicroseconds,
      1_000_000,
      "Triton's idle timeout when none is given",
    );
  },
);

t.test('parameters, version policies, default_model_filename, and backend tuning listed as ignored', async (t) => {
  const config = read(`
    backend: "rnn-serve"
    default_model_filename: "weights.json"
    parameters: { key: "EXECUTION_ENV_PATH", value: { string_value: "$$TRITON_MODEL_DIRECTORY/env.tar.gz" } }
    parameters [ { key: "owner" value { string_value: "nlp" } } ]
    version_policy { all { } }
    optimization { graph { level: 1 } }
    model_warmup [ { name: "w" batch_size: 1 inputs { key: "input" value: { data_type: TYPE_FP32 dims: [ 2, 4 ] zero_data: true } } } ]
    response_cache { enable: true }
    model_transaction_policy { decoupled: false }
  `);
  t.same(
    [...config.parameters],
    [
      ['EXECUTION_ENV_PATH', '$$TRITON_MODEL_DIRECTORY/env.tar.gz'],
      ['owner', 'nlp'],
    ],
  );
  t.same(config.versionPolicy, { kind: 'all' });
  t.equal(config.defaultModelFilename, 'weights.json');
  t.same(
    config.ignored.map((line) => line.split(' ')[0]),
    ['optimization', 'model_warmup', 'response_cache'],
    'one list for the log line; a decoupled policy of false is no change at all',
  );
  t.same(read('version_policy: { latest: { num_versions: 3 } }').versionPolicy, { kind: 'latest', count: 3 });
  t.same(read('version_policy { }').versionPolicy, { kind: 'latest', count: 1 });
});

t.test('without config.pbtxt: every version, no batching settings', async (t) => {
  const config = defaultModelConfig();
  t.same(config.versionPolicy, { kind: 'all' });
  t.same([config.source, config.maxBatchSize, config.dynamicBatching, config.sequenceBatching], [null, 0, null, null]);
});

t.test('refused: what would change answers, and values that contradict each other', async (t) => {
  const cases: [string, number, string, RegExp][] = [
    ['name: "other"', 1, 'name', /is 'other', but the model's directory is 'm'; they must be equal/],
    [
      'ensemble_scheduling { step [ { model_name: "a" model_version: -1 } ] }',
      1,
      'ensemble_scheduling',
      /is not supported: rnn-serve does not implement ensembles/,
    ],
    ['platform: "ensemble"', 1, 'platform', /ensembles/],
    [
      'instance_group [ { kind: KIND_GPU count: 1 } ]',
      1,
      'instance_group[0].kind',
      /is KIND_GPU; rnn-serve computes on the CPU/,
    ],
    ['instance_group [ { gpus: [ 0 ] } ]', 1, 'instance_group[0].gpus', /names GPUs/],
    [
      '\ninput { name: "x" dims: [ 4 ] reshape: { shape: [ 2, 2 ] } }',
      2,
      'input[0].reshape',
      /does not implement reshape/,
    ],
    ['input { name: "x" format: FORMAT_NHWC }', 1, 'input[0].format', /image format FORMAT_NHWC/],
    ['input { name: "x" allow_ragged_batch: true }', 1, 'input[0].allow_ragged_batch', /ragged batches/],
    [
      'output { name: "y" label_filename: "labels.txt" }',
      1,
      'output[0].label_filename',
      /class labels come from labels.txt/,
    ],
    ['model_transaction_policy { decoupled: true }', 1, 'model_transaction_policy.decoupled', /decoupled answers/],
    ['model_repository_agents { agents [ { name: "checksum" } ] }', 1, 'model_repository_agents', /repository agents/],
    ['model_operations { op_library_filename: "x.so" }', 1, 'model_operations', /custom operation libraries/],
    ['batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "n" } ]', 1, 'batch_input', /batch inputs/],
    [
      'sequence_batching { iterative_sequence: true }',
      1,
      'sequence_batching.iterative_sequence',
      /iterative sequences/,
    ],
    [
      'sequence_batching { state [ { input_name: "a" output_name: "b" initial_state [ { data_file: "s.bin" } ] } ] }',
      1,
      'sequence_batching.state[0].initial_state[0].data_file',
      /a state starts from zeros/,
    ],
    ['sequence_batching { state [ { output_name: "b" } ] }', 1, 'sequence_batching.state[0].input_name', /is missing/],
    ['dynamic_batching { }', 1, 'dynamic_batching', /needs max_batch_size of at least 1/],
    [
      'max_batch_size: 4\ndynamic_batching { preferred_batch_size: [ 2, 8 ] }',
      2,
      'dynamic_batching.preferred_batch_size[1]',
      /is 8; a preferred batch size is between 1 and max_batch_size \(4\)/,
    ],
    [
      'max_batch_size: 4\ndynamic_batching { priority_levels: 2 }',
      2,
      'dynamic_batching.default_priority_level',
      /is 0; with 2 priority levels it is between 1 and 2/,
    ],
    [
      'max_batch_size: 4\ndynamic_batching {\n priority_levels: 1 default_priority_level: 1\n priority_queue_policy { key: 2 value {} } }',
      4,
      'dynamic_batching.priority_queue_policy[2]',
      /names priority level 2; the levels are 1 to 1/,
    ],
    ['max_batch_size: -1', 1, 'max_batch_size', /is -1; 0 \(no batch dimension\) or more/],
    [
      'version_policy { latest { num_versions: 0 } }',
      1,
      'version_policy.latest.num_versions',
      /serve at least 1 version/,
    ],
    ['version_policy { specific { } }', 1, 'version_policy.specific.versions', /names no version/],
    [
      'version_policy { specific { versions: [ 0 ] } }',
      1,
      'version_policy.specific.versions[0]',
      /versions are positive integers/,
    ],
    ['input [ { name: "x" }, { name: "x" } ]', 1, 'input[1].name', /'x' is named twice \(also input\[0\]\)/],
    ['input { dims: [ 4 ] }', 1, 'input[0]', /has no name/],
    ['input { name: "x" dims: [ 0 ] }', 1, 'input[0].dims[0]', /is 0; a dimension is -1 \(any size\) or at least 1/],
    [
      'default_model_filename: "../other/model.onnx"',
      1,
      'default_model_filename',
      /a file name in the version directory ending in \.json or \.onnx/,
    ],
    [
      'max_batch_size: 4 dynamic_batching { default_queue_policy { timeout_action: DELAY } }',
      1,
      'dynamic_batching.default_queue_policy.timeout_action',
      /is DELAY; rnn-serve answers a request whose queue timeout passes \(REJECT\): no request waits without bound/,
    ],
  ];
  for (const [text, line, path, problem] of cases) {
    const error = refusal(t, text);
    t.same([error.line, error.path], [line, path], `${JSON.stringify(text)}: ${path} on line ${line}`);
    t.match(error.problem, problem);
    t.match(
      error.message,
      new RegExp(`^m/config\\.pbtxt:${line}: ${path.replace(/[[\].]/g, '\\$&')}: `),
      'file:line: field: problem',
    );
  }
});

t.test("a load request's config parameter: the same reading, named parameters.config", async (t) => {
  const config = modelConfigFromJson(
    JSON.stringify({
      max_batch_size: 2,
      dynamicBatching: { maxQueueDelayMicroseconds: '10' },
      versionPolicy: { all: {} },
    }),
    'parameters.config',
    CONTEXT,
  );
  t.same(
    [config.source, config.maxBatchSize, config.dynamicBatching?.maxQueueDelayMicroseconds],
    ['parameters.config', 2, 10],
  );
  t.same(config.versionPolicy, { kind: 'all' });
  const cases: [string, RegExp][] = [
    ['{"max_batch_size": 2', /^parameters\.config: is not valid JSON/],
    ['[1]', /^parameters\.config: is not a JSON object \(a ModelConfig\)$/],
    ['{"name": "x"}', /^parameters\.config: name: is 'x', but the model's directory is 'm'/],
    ['{"maxBatchSize": "two"}', /^parameters\.config: max_batch_size: expected a whole number \(int32\); got 'two'/],
  ];
  for (const [json, message] of cases) {
    try {
      modelConfigFromJson(json, 'parameters.config', CONTEXT);
      t.fail(`accepted ${json}`);
    } catch (error) {
      t.ok(error instanceof ModelConfigError);
      t.match((error as Error).message, message);
    }
  }
});
