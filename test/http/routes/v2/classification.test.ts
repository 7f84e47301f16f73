/**
 * The Open Inference Protocol's classification extension, as Triton clients send it: an output requested with
 * `"parameters": {"classification": K}` comes back as BYTES `[batch, time, K]`, each element `score:index:label`
 * (`score:index` without labels), largest first: as JSON strings, and as binary data where each element is a
 * 4-byte little-endian length and its UTF-8 bytes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { build } from '../../../helpers/build.js';
import { addTfjsModel, modelsDir } from '../../../helpers/models.js';
import { float32Text } from '../../../../src/codec/float-format.js';

const LABELS = ['alpha', 'beta: β', 'gamma', 'delta'];
const DATA = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.5, -1, 0.25, 2, 1, 1, 0, -0.5, 0.3, 0.1, 0.2, 0.7];
const INPUT = { name: 'input', shape: [2, 3, 4], datatype: 'FP32', data: DATA };

function repository(t: { teardown(fn: () => unknown): void }): string {
  const dir = modelsDir(t, { 'rnn/1/model.json': { format: 'rnn-serve/v1', inputDim: 4, hiddenSize: 3, seed: 1 } });
  writeFileSync(join(addTfjsModel(join(dir, 'cls'), '1'), 'labels.txt'), `${LABELS.join('\n')}\n`);
  addTfjsModel(join(dir, 'plain'), '1');
  return dir;
}

/** The expected strings: each row of 4 probabilities ranked, cut at K, written as the extension writes them. */
function expectedStrings(values: number[], k: number, labels: string[] | null): string[] {
  const out: string[] = [];
  for (let r = 0; r < values.length / 4; r++) {
    const row = values.slice(4 * r, 4 * r + 4).map((score, index) => ({ score, index }));
    row.sort((a, b) => b.score - a.score || a.index - b.index);
    for (const { score, index } of row.slice(0, k))
      out.push(`${float32Text(score)}:${index}${labels ? `:${labels[index]}` : ''}`);
  }
  return out;
}

/** BYTES elements of the binary tensor data extension: a 4-byte little-endian length, then the bytes. */
function readBytesElements(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = bytes.readUInt32LE(at);
    out.push(bytes.subarray(at + 4, at + 4 + length).toString('utf8'));
    at += 4 + length;
  }
  return out;
}

t.test('JSON: the top K of each step as score:index:label strings', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const infer = (url: string, outputs: object[]) =>
    app.inject({ method: 'POST', url, payload: { inputs: [INPUT], outputs } });
  const values = (await infer('/v2/models/cls/infer', [{ name: 'output' }])).json().outputs[0].data as number[];
  t.equal(values.length, 24);

  const res = await infer('/v2/models/cls/infer', [{ name: 'output', parameters: { classification: 2 } }]);
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const [output] = res.json().outputs;
  t.equal(output.name, 'output');
  t.equal(output.datatype, 'BYTES');
  t.same(output.shape, [2, 3, 2], '[batch, time, K]');
  t.same(output.data, expectedStrings(values, 2, LABELS));
  t.match(output.data[0], /^0\.\d+:\d:(alpha|beta: β|gamma|delta)$/, 'e.g. 0.35164234:0:alpha');

  const plain = await infer('/v2/models/plain/infer', [
    { name: 'output', parameters: { classification: 4 } },
    { name: 'state_0' },
  ]);
  t.equal(plain.statusCode, 200, plain.body.slice(0, 300));
  const body = plain.json();
  t.same(body.outputs[0].data, expectedStrings(values, 4, null), 'without labels: score:index');
  t.equal(body.outputs[1].datatype, 'FP32', 'the other outputs stay values');

  const server = (await app.inject({ method: 'GET', url: '/v2' })).json();
  t.ok(server.extensions.includes('classification'), 'the server announces the extension');
});

t.test('binary: BYTES elements length-prefixed after the JSON header', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const json = await app.inject({
    method: 'POST',
    url: '/v2/models/cls/infer',
    payload: { inputs: [INPUT], outputs: [{ name: 'output', parameters: { classification: 3 } }] },
  });
  const expected = json.json().outputs[0].data as string[];
  const res = await app.inject({
    method: 'POST',
    url: '/v2/models/cls/infer',
    payload: {
      inputs: [INPUT],
      outputs: [{ name: 'output', parameters: { classification: 3, binary_data: true } }],
    },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/octet-stream');
  const length = Number(res.headers['inference-header-content-length']);
  const header = JSON.parse(res.rawPayload.subarray(0, length).toString('utf8'));
  const [output] = header.outputs;
  t.same(
    { name: output.name, datatype: output.datatype, shape: output.shape },
    { name: 'output', datatype: 'BYTES', shape: [2, 3, 3] },
  );
  const tensor = res.rawPayload.subarray(length);
  t.equal(output.parameters.binary_data_size, tensor.length, 'binary_data_size is the bytes after the header');
  t.same(readBytesElements(tensor), expected, 'the same strings as the JSON answer');
  t.equal(expected.length, 18);
});

t.test('classification errors: a state, no softmax, K above the classes or not a count', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const infer = async (model: string, output: object) => {
    const res = await app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      payload: { inputs: [INPUT], outputs: [output] },
    });
    t.equal(res.statusCode, 400, res.body.slice(0, 200));
    t.match(res.headers['content-type'], /^application\/json/);
    return res.json().error as string;
  };
  t.match(
    await infer('cls', { name: 'state_0', parameters: { classification: 1 } }),
    /outputs\[0\]\.parameters\.classification: applies to 'output', not to 'state_0'/,
  );
  t.match(
    await infer('rnn', { name: 'output', parameters: { classification: 1 } }),
    /outputs\[0\]\.parameters\.classification: applies to classifiers: the model's last layer is not softmax/,
  );
  t.match(
    await infer('cls', { name: 'output', parameters: { classification: 5 } }),
    /outputs\[0\]\.parameters\.classification: is 5; 'output' has 4 features \(classes\)/,
  );
  for (const k of [0, 1.5, '2', true])
    t.match(
      await infer('cls', { name: 'output', parameters: { classification: k } }),
      /classification: is .*; expected a count of classes, an integer of at least 1/,
      `classification ${JSON.stringify(k)}`,
    );
});

t.test('MAX_OUTPUT_VALUES counts the ranked output and its class entries, before the pass', async (t) => {
  // cls's [2, 3, 4] output is 24 values; K adds 6 rows · K entries · 4 (CLASS_ENTRY_VALUES): 48 for K = 1, 72 for 2.
  const { app } = await build(t, { models: { dir: repository(t) }, limits: { maxOutputValues: 60 } });
  const infer = (outputs: object[]) =>
    app.inject({ method: 'POST', url: '/v2/models/cls/infer', payload: { inputs: [INPUT], outputs } });
  t.equal((await infer([{ name: 'output' }])).statusCode, 200, 'the plain output fits');
  const one = await infer([{ name: 'output', parameters: { classification: 1 } }]);
  t.equal(one.statusCode, 200, `24 + 24 fits: ${one.body.slice(0, 200)}`);
  t.same(one.json().outputs[0].shape, [2, 3, 1]);
  const two = await infer([{ name: 'output', parameters: { classification: 2 } }]);
  t.equal(two.statusCode, 400, 'the values alone (24) fit; with the class entries (72) they do not');
  t.equal(
    two.json().error,
    "body: the answer's values (outputs, 4 per class entry of outputs[0].parameters.classification; " +
      'returnSequences true) is 72; the limit is 60 (MAX_OUTPUT_VALUES)',
    "the problem names the field the client sent, not /rnn/forward's topK",
  );
  const second = await infer([{ name: 'state_0' }, { name: 'output', parameters: { classification: 2 } }]);
  t.equal(second.statusCode, 400);
  t.match(second.json().error, /per class entry of outputs\[1\]\.parameters\.classification;/, 'its index too');
});
