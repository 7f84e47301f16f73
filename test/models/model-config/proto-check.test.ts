/**
 * proto-check.ts checks a text-format tree, or a JSON object in protobuf's JSON mapping, against a message type.
 * Held to a small .proto of its own (every scalar kind, an enum, a nested message, a repeated field, a oneof, maps):
 * the plain data it yields (64-bit integers as bigints), the line of each field, and each problem's path, line
 * and words.
 */
import protobuf from 'protobufjs';
import t from 'tap';
import {
  ProtoCheckError,
  checkJsonMessage,
  checkTextMessage,
  closest,
} from '../../../src/models/model-config/proto-check.js';
import { parseTextFormat } from '../../../src/models/model-config/text-format.js';

const PROTO = `
syntax = "proto3";
package test;
enum Kind { KIND_AUTO = 0; KIND_CPU = 1; KIND_GPU = 2; }
message Inner { int32 count = 1; repeated string names = 2; }
message Outer {
  string name = 1;
  int32 small = 2;
  uint64 big = 3;
  float ratio = 4;
  bool on = 5;
  bytes raw = 6;
  Kind kind = 7;
  Inner inner = 8;
  repeated int64 dims = 9;
  oneof choice { int32 first = 10; string second = 11; }
  map<string, string> labels = 12;
  map<uint64, Inner> byId = 13;
}
`;
const Outer = protobuf.parse(PROTO).root.resolveAll().lookupType('test.Outer');
const text = (source: string) => checkTextMessage(Outer, parseTextFormat(source));
const problem = (fn: () => unknown): [string, number, string] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtoCheckError) return [error.path, error.line, error.problem];
    throw error;
  }
  throw new Error('nothing was refused');
};

t.test('every kind of field read, with its line', async (t) => {
  const { message, lines } = text(
    [
      'name: "rnn"',
      'small: -0x10',
      'big: 18446744073709551615',
      'ratio: 0.5',
      'on: t',
      'raw: "\\x01\\x02"',
      'kind: KIND_GPU',
      'inner { count: 017 names: ["a", "b"] }',
      'dims: [1, -1]',
      'dims: 3',
      'second: "x"',
      'labels { key: "k" value: "v" }',
      'byId [{ key: 7 value { count: 1 } }, { key: 8 }]',
    ].join('\n'),
  );
  t.same(message.name, 'rnn');
  t.same(message.small, -16);
  t.same(message.big, 2n ** 64n - 1n, 'a 64-bit integer as a bigint');
  t.same([message.ratio, message.on, [...(message.raw as Uint8Array)], message.kind], [0.5, true, [1, 2], 'KIND_GPU']);
  t.same(message.inner, { count: 15, names: ['a', 'b'] }, 'octal 017');
  t.same(message.dims, [1n, -1n, 3n], 'a list and a repeated occurrence, joined');
  t.same(message.second, 'x');
  t.same([...(message.labels as Map<unknown, unknown>)], [['k', 'v']]);
  t.same(
    [...(message.byId as Map<unknown, unknown>)],
    [
      [7n, { count: 1 }],
      [8n, {}],
    ],
  );
  t.equal(lines.get('small'), 2);
  t.equal(lines.get('inner.names'), 8);
  t.equal(lines.get('dims[2]'), 10);
  t.equal(lines.get('byId[7]'), 13);
  t.same(text('kind: 1 ratio: -inf').message, { kind: 'KIND_CPU', ratio: -Infinity }, 'an enum by number');
});

t.test('problems: the path, the line and what is wrong', async (t) => {
  t.same(
    problem(() => text('nmae: "x"')),
    ['nmae', 1, 'no such field; did you mean name?'],
  );
  t.same(
    problem(() => text('\nsmall: 2147483648')),
    ['small', 2, 'is 2147483648, outside the range of int32 [-2147483648, 2147483647]'],
  );
  t.same(
    problem(() => text('small: "3"')),
    ['small', 1, 'expected an int32; got a string (values of this field are not quoted)'],
  );
  t.same(
    problem(() => text('small: 1.5')),
    ['small', 1, 'expected a whole number (int32); got 1.5'],
  );
  t.same(
    problem(() => text('name: rnn')),
    ['name', 1, "expected a string in quotes; got 'rnn'"],
  );
  t.same(
    problem(() => text('on: yes')),
    ['on', 1, "expected true or false; got 'yes'"],
  );
  t.same(
    problem(() => text('kind: GPU')),
    ['kind', 1, "'GPU' is not a value of Kind; did you mean KIND_GPU? (values: KIND_AUTO, KIND_CPU, KIND_GPU)"],
  );
  t.same(
    problem(() => text('kind: 9')),
    ['kind', 1, 'expected a value of Kind (KIND_AUTO, KIND_CPU, KIND_GPU); got 9'],
  );
  t.same(
    problem(() => text('name: "a"\nname: "b"')),
    ['name', 2, 'is given twice (first on line 1); it is not a repeated field'],
  );
  t.same(
    problem(() => text('small: [1]')),
    ['small', 1, 'is given a list, but it is not a repeated field'],
  );
  t.same(
    problem(() => text('first: 1\nsecond: "x"')),
    ['second', 2, 'cannot be given with first (line 1): they are alternatives (oneof choice)'],
  );
  t.same(
    problem(() => text('inner: 3')),
    ['inner', 1, 'expected a message { ... } (Inner); got a scalar'],
  );
  t.same(
    problem(() => text('inner { count { } }')),
    ['inner.count', 1, 'expected an int32; got a message { ... }'],
  );
  t.same(
    problem(() => text('labels { key: "a" } labels { key: "a" }')),
    ['labels["a"]', 1, 'this key is given twice'],
  );
  t.same(
    problem(() => text('labels { value: "a" }')),
    ['labels', 1, 'a map entry needs a key'],
  );
  t.same(
    problem(() => text('labels { key: "a" other: 1 }')),
    ['labels.other', 1, 'a map entry has only key and value'],
  );
  t.same(
    problem(() => text('name: "\\xff"')),
    ['name', 1, 'is not valid UTF-8'],
  );
});

t.test('the JSON mapping reads as the text form', async (t) => {
  const { message, lines } = checkJsonMessage(Outer, {
    name: 'rnn',
    big: '18446744073709551615',
    kind: 'KIND_CPU',
    inner: { count: 2, names: ['a'] },
    dims: [1, '2'],
    raw: 'AQI=',
    labels: { k: 'v' },
    byId: { '7': { count: 1 } },
    on: null,
  });
  t.same(message.big, 2n ** 64n - 1n);
  t.same(message.dims, [1n, 2n]);
  t.same([...(message.raw as Uint8Array)], [1, 2]);
  t.same([...(message.byId as Map<unknown, unknown>)], [[7n, { count: 1 }]]);
  t.notOk('on' in message, 'null is absent');
  t.equal(lines.get('name'), 0, 'no lines in JSON');
  t.same(checkJsonMessage(Outer, { byId: {} }).message.byId, new Map());
  t.same(
    problem(() => checkJsonMessage(Outer, { nmae: 'x' })),
    ['nmae', 0, 'no such field; did you mean name?'],
  );
  t.same(
    problem(() => checkJsonMessage(Outer, { small: [1] })),
    ['small', 0, 'is given a list, but it is not a repeated field'],
  );
  t.same(
    problem(() => checkJsonMessage(Outer, { inner: 3 })),
    ['inner', 0, 'expected an object (Inner)'],
  );
  t.same(
    problem(() => checkJsonMessage(Outer, { raw: '!!' })),
    ['raw', 0, 'expected base64 bytes'],
  );
  t.same(
    problem(() => checkJsonMessage(Outer, { on: {} })),
    ['on', 0, 'expected a bool; got object'],
  );
  t.same(
    problem(() => checkJsonMessage(Outer, { labels: [] })),
    ['labels', 0, 'expected an object (a map)'],
  );
});

t.test('closest: the name a misspelt one meant', async (t) => {
  t.equal(closest('maxbatchsize', ['max_batch_size', 'name']), 'max_batch_size', 'case and _ ignored');
  t.equal(closest('GPU', ['KIND_CPU', 'KIND_GPU']), 'KIND_GPU', 'the one name ending so');
  t.equal(closest('nmae', ['name', 'platform']), 'name', 'two edits away');
  t.equal(closest('backend', ['name', 'platform']), null);
});
