/**
 * The protobuf text format reader: every way Triton's configurations write fields, values and lists, read to the
 * same tree; syntax errors name their line; and the tree checked against inference.ModelConfig (loaded by
 * protobufjs from proto/triton/model_config.proto) names the line and field of an unknown field, a bad value, a field given
 * twice or two alternatives of a oneof, with "did you mean". The JSON form of a load request reads the same.
 */
import t from 'tap';
import { modelConfigMessage } from '../../../src/models/model-config/model-config.js';
import {
  ProtoCheckError,
  checkJsonMessage,
  checkTextMessage,
  closest,
} from '../../../src/models/model-config/proto-check.js';
import { TextFormatError, parseTextFormat } from '../../../src/models/model-config/text-format.js';

const check = (text: string) => checkTextMessage(modelConfigMessage(), parseTextFormat(text));

/** The error `run` throws, or fails the test. */
function thrown<E extends Error>(
  t: { ok(value: unknown, message: string): void; fail(message: string): void },
  run: () => unknown,
  type: new (...args: never[]) => E,
): E {
  try {
    run();
  } catch (error) {
    t.ok(error instanceof type, `a ${type.name}`);
    return error as E;
  }
  t.fail('no error');
  return new Error('none') as E;
}

t.test('fields: name: value, messages with or without a colon, <> brackets, separators and comments', async (t) => {
  const a = check(`
    # the whole configuration
    name: "m"   # trailing comment
    max_batch_size: 8,
    version_policy: { latest: { num_versions: 2 } };
    dynamic_batching < max_queue_delay_microseconds: 100 >
  `);
  const b = check(
    'name:"m" max_batch_size:8 version_policy{latest{num_versions:2}} dynamic_batching:{max_queue_delay_microseconds:100}',
  );
  t.same(a.message, b.message, 'the same message whichever way it is written');
  t.same(a.message, {
    name: 'm',
    max_batch_size: 8,
    version_policy: { latest: { num_versions: 2 } },
    dynamic_batching: { max_queue_delay_microseconds: 100n },
  });
  t.equal(a.lines.get('max_batch_size'), 4);
  t.equal(a.lines.get('dynamic_batching.max_queue_delay_microseconds'), 6);
});

t.test('repeated fields: lists, repeated occurrences, empty lists, and both mixed', async (t) => {
  const { message, lines } = check(`
    input [ { name: "a" dims: [ -1, 4 ] }, { name: "b" dims: [] } ]
    input { name: "c" dims: 1 dims: 2 }
    output: [ { name: "y" } ]
  `);
  t.same(
    (message.input as { name: string; dims?: bigint[] }[]).map((i) => [i.name, i.dims ?? []]),
    [
      ['a', [-1n, 4n]],
      ['b', []],
      ['c', [1n, 2n]],
    ],
    'int64 dims are bigints, in order across occurrences',
  );
  t.equal(lines.get('input[2].name'), 3, 'indices continue across occurrences');
  t.equal((message.output as unknown[]).length, 1);
});

t.test('scalars: integers in hex and octal, floats, inf and nan, booleans, enums by name or number', async (t) => {
  const { message } = check(`
    max_batch_size: 0x10
    dynamic_batching { priority_levels: 010 preferred_batch_size: [ -0, 3 ] preserve_ordering: True }
    input { name: "x" data_type: 11 optional: t }
  `);
  t.equal(message.max_batch_size, 16);
  t.same(message.dynamic_batching, { priority_levels: 8n, preferred_batch_size: [0, 3], preserve_ordering: true });
  t.same(message.input, [{ name: 'x', data_type: 'TYPE_FP32', optional: true }], 'an enum by number reads as its name');
  t.same(check('sequence_batching: { direct { minimum_slot_utilization: 2.5e-1 } iterative_sequence: f }').message, {
    sequence_batching: { direct: { minimum_slot_utilization: 0.25 }, iterative_sequence: false },
  });
  const floats = checkTextMessage(
    modelConfigMessage(),
    parseTextFormat('sequence_batching { direct { minimum_slot_utilization: -inf } }'),
  ).message;
  t.same(floats.sequence_batching, { direct: { minimum_slot_utilization: -Infinity } });
  const nan = check('sequence_batching { direct { minimum_slot_utilization: nan } }').message as {
    sequence_batching: { direct: { minimum_slot_utilization: number } };
  };
  t.ok(Number.isNaN(nan.sequence_batching.direct.minimum_slot_utilization));
  t.same(
    check('sequence_batching { direct { minimum_slot_utilization: 1.5f } }').message.sequence_batching,
    { direct: { minimum_slot_utilization: 1.5 } },
    'a float with the f suffix',
  );
});

t.test('strings: both quotes, every escape, adjacent strings joined, UTF-8', async (t) => {
  const { message } = check(String.raw`
    parameters { key: "escapes" value { string_value: "tab\tnl\ncr\rq\"s\'bs\\oct\101hex\x42u\u00e9U\U0001F600" } }
    parameters { key: 'single' value { string_value: 'it''s' " joined" } }
    parameters { key: "é" value { string_value: "ünïcödé" } }
  `);
  const parameters = message.parameters as Map<string, { string_value: string }>;
  t.equal(parameters.get('escapes')?.string_value, 'tab\tnl\ncr\rq"s\'bs\\octAhexBuéU😀');
  t.equal(parameters.get('single')?.string_value, 'its joined');
  t.equal(parameters.get('é')?.string_value, 'ünïcödé');
});

t.test('syntax errors name the line', async (t) => {
  const cases: [string, number, RegExp][] = [
    ['name: "m"\nplatform: "unclosed\n', 2, /a string is not closed on its line/],
    ['input {\n name: "a"\n', 3, /the message opened on line 1 is not closed \('}'\)/],
    [
      'input [ { name: "a" }\n name: "b"',
      2,
      /expected ',' or ']' in the list of 'input' opened on line 1; found 'name'/,
    ],
    ['\n\nname "m"', 3, /expected ':' or '\{' after the field name 'name'; found a string/],
    ['// a C comment', 1, /'\/\/' does not start a comment in the text format; use '#'/],
    ['[ext.field]: 1', 1, /extension and Any fields \(\[...\]\) are not supported/],
    ['name: "a\\qb"', 1, /unknown escape \\q in a string/],
    ['max_batch_size: 12abc', 1, /'12a' is not a number/],
    ['max_batch_size: -', 1, /expected a number after '-'; found the end of the file/],
    ['name: @', 1, /unexpected character '@'/],
    ['name: "\\777"', 1, /the octal escape \\777 is above \\377/],
  ];
  for (const [text, line, message] of cases) {
    const error = thrown(t, () => parseTextFormat(text), TextFormatError);
    t.equal(error.line, line, `${JSON.stringify(text)}: line ${line}`);
    t.match(error.message, message);
  }
});

t.test('checked against ModelConfig: the field, its line, and what is wrong with it', async (t) => {
  const lines = (...l: string[]) => l.join('\n');
  const cases: [string, number, string, RegExp][] = [
    [
      lines(
        'name: "hello"',
        'max_batch_size: 8',
        '',
        'dynamic_batching {',
        '  preferred_batch_size: [4, 8]',
        '',
        '  max_queue_delay_microsecond: 100',
        '}',
      ),
      7,
      'dynamic_batching.max_queue_delay_microsecond',
      /^no such field; did you mean max_queue_delay_microseconds\?$/,
    ],
    ['maxBatchSize: 3', 1, 'maxBatchSize', /no such field; did you mean max_batch_size\?/],
    ['name: "a"\nname: "b"', 2, 'name', /is given twice \(first on line 1\); it is not a repeated field/],
    [
      'dynamic_batching {}\nsequence_batching {}',
      2,
      'sequence_batching',
      /cannot be given with dynamic_batching \(line 1\): they are alternatives \(oneof scheduling_choice\)/,
    ],
    [
      'input { name: "x" data_type: TYPE_FP33 }',
      1,
      'input[0].data_type',
      /'TYPE_FP33' is not a value of DataType; did you mean TYPE_FP32\?/,
    ],
    [
      'instance_group { kind: GPU }',
      1,
      'instance_group[0].kind',
      /'GPU' is not a value of Kind; did you mean KIND_GPU\?.*values: KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL/,
    ],
    ['max_batch_size: "8"', 1, 'max_batch_size', /expected an int32; got a string/],
    ['max_batch_size: 2147483648', 1, 'max_batch_size', /is 2147483648, outside the range of int32/],
    ['max_batch_size: 1.5', 1, 'max_batch_size', /expected a whole number \(int32\); got 1.5/],
    ['dynamic_batching { priority_levels: -1 }', 1, 'dynamic_batching.priority_levels', /outside the range of uint64/],
    ['name: 5', 1, 'name', /expected a string in quotes; got 5/],
    ['name: [ "a" ]', 1, 'name', /is given a list, but it is not a repeated field/],
    ['version_policy: 1', 1, 'version_policy', /expected a message \{ \.\.\. \} \(ModelVersionPolicy\); got a scalar/],
    ['max_batch_size { }', 1, 'max_batch_size', /expected an int32; got a message/],
    ['input { optional: maybe }', 1, 'input[0].optional', /expected true or false; got 'maybe'/],
    [
      'parameters { key: "a" value { string_value: "x" } }\nparameters { key: "a" }',
      2,
      'parameters["a"]',
      /this key is given twice/,
    ],
    ['parameters { value { string_value: "x" } }', 1, 'parameters', /a map entry needs a key/],
    ['parameters { key: "a" other: 1 }', 1, 'parameters.other', /a map entry has only key and value/],
  ];
  for (const [text, line, path, problem] of cases) {
    const error = thrown(t, () => check(text), ProtoCheckError);
    t.same([error.line, error.path], [line, path], `${JSON.stringify(text)}: ${path}, line ${line}`);
    t.match(error.problem, problem);
  }
});

t.test('maps: entries written either way, uint64 keys as bigints', async (t) => {
  const { message } = check(`
    dynamic_batching {
      priority_levels: 2
      priority_queue_policy { key: 1 value { max_queue_size: 4 } }
      priority_queue_policy: [ { key: 2, value: { timeout_action: DELAY } } ]
    }
    metric_tags { key: "team" value: "rnn" }
  `);
  const policies = (message.dynamic_batching as { priority_queue_policy: Map<bigint, unknown> }).priority_queue_policy;
  t.same(
    [...policies.entries()],
    [
      [1n, { max_queue_size: 4 }],
      [2n, { timeout_action: 'DELAY' }],
    ],
  );
  t.same([...(message.metric_tags as Map<string, string>).entries()], [['team', 'rnn']]);
});

t.test('the JSON form (a load request) reads as the text form', async (t) => {
  const text = check(`
    name: "m" max_batch_size: 4
    input [{ name: "input" data_type: TYPE_FP32 dims: [-1, 4] }]
    dynamic_batching { max_queue_delay_microseconds: 100 priority_queue_policy { key: 1 value { max_queue_size: 2 } } priority_levels: 1 default_priority_level: 1 }
    parameters { key: "k" value { string_value: "v" } }
  `).message;
  const json = checkJsonMessage(modelConfigMessage(), {
    name: 'm',
    maxBatchSize: 4,
    input: [{ name: 'input', dataType: 'TYPE_FP32', dims: ['-1', 4] }],
    dynamic_batching: {
      maxQueueDelayMicroseconds: '100',
      priorityQueuePolicy: { 1: { maxQueueSize: 2 } },
      priorityLevels: 1,
      defaultPriorityLevel: '1',
    },
    parameters: { k: { stringValue: 'v' } },
  }).message;
  t.same(json, text, 'proto and lowerCamel names, 64-bit integers as strings or numbers, maps as objects');
  const error = thrown(
    t,
    () => checkJsonMessage(modelConfigMessage(), { maxBatchSize: 1, dynamicBatching: { maxQueueDelay: 5 } }),
    ProtoCheckError,
  );
  t.equal(error.path, 'dynamicBatching.maxQueueDelay');
  t.match(error.problem, /no such field/);
});

t.test('closest: the known name a misspelt one meant, or none', async (t) => {
  t.equal(closest('max_batchsize', ['max_batch_size', 'name']), 'max_batch_size');
  t.equal(closest('MAX_BATCH_SIZE', ['max_batch_size']), 'max_batch_size');
  t.equal(closest('pltform', ['platform', 'backend']), 'platform');
  t.equal(closest('zzzzzz', ['platform', 'backend']), null);
});
