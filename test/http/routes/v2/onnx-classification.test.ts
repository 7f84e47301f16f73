/**
 * The classification extension on ONNX models: an output written by Softmax or LogSoftmax over its last axis
 * (fixed size) requested with `"parameters": {"classification": K}` comes back as BYTES `[..., K]`, each element
 * `score:index:label` (`score:index` without labels.txt), as JSON strings or length-prefixed binary elements; the
 * scores are the plain output's values for the same request. Anything else is a 400 naming the parameter.
 */
import t from 'tap';
import { SHIPPED_MODELS, build } from '../../../helpers/build.js';
import { fixtureCases, graphModel, onnxRepository } from '../../../helpers/onnx.js';
import { float32Text } from '../../../../src/codec/float-format.js';

const TAGS = ['noun', 'verb: ✓', 'other'];
const CLASSES = ['left', 'middle', 'right'];

/**
 * embedding-tagger (LogSoftmax, [batch, time, 3]) with labels, embedding-classifier (Softmax, [batch, 2]) without,
 * last-step-softmax-bi (Softmax, [batch, 3]) with labels, rnn-1-tanh-bf and last-step-linear (no softmax), and a
 * one-node Softmax graph whose outputs are declared dynamic (its class count is not fixed).
 */
function repository(t: { teardown(fn: () => unknown): void }): string {
  const softmaxNode = graphModel({
    inputs: [{ name: 'x', shape: ['batch', 3] }],
    outputs: [['p', 2]],
    nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['p'] }],
  });
  return onnxRepository(
    t,
    ['embedding-tagger', 'embedding-classifier', 'last-step-softmax-bi', 'rnn-1-tanh-bf', 'last-step-linear'],
    {
      'embedding-tagger/1/labels.txt': `${TAGS.join('\n')}\n`,
      'last-step-softmax-bi/1/labels.txt': CLASSES.join('\n'),
      'dynamic-softmax/1/model.onnx': softmaxNode,
    },
  );
}

/** Each row of `features` values ranked (stable, largest first), cut at K, written as the extension writes them. */
function expectedStrings(values: number[], features: number, k: number, labels: string[] | null): string[] {
  const out: string[] = [];
  for (let r = 0; r < values.length / features; r++) {
    const row = values.slice(features * r, features * (r + 1)).map((score, index) => ({ score, index }));
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

/** The fixture's first case as protocol inputs. */
const inputsOf = (name: string) =>
  Object.entries(fixtureCases(name)[0].inputs).map(([input, tensor]) => ({ name: input, ...tensor }));

t.test('JSON: the top K of each row as score:index:label strings, from the plain output', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const infer = (name: string, outputs?: object[]) =>
    app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: { inputs: inputsOf(name), outputs } });

  // The tagger: LogSoftmax over [2, 6, 3], every step ranked, the log-probabilities as scores.
  const plain = (await infer('embedding-tagger')).json().outputs[0];
  t.same(plain.shape, [2, 6, 3]);
  const res = await infer('embedding-tagger', [{ name: 'log_probs', parameters: { classification: 2 } }]);
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  const [output] = res.json().outputs;
  t.same(
    { name: output.name, datatype: output.datatype, shape: output.shape },
    {
      name: 'log_probs',
      datatype: 'BYTES',
      shape: [2, 6, 2],
    },
  );
  t.same(output.data, expectedStrings(plain.data, 3, 2, TAGS));
  t.equal(output.data.length, 24);
  t.match(output.data[0], /^-\d+(\.\d+)?(e-?\d+)?:[012]:(noun|verb: ✓|other)$/, 'a log-probability, at most 0');

  // A Softmax classifier [2, 3] with labels, and K = all classes.
  const bi = (await infer('last-step-softmax-bi')).json().outputs[0];
  const all = (await infer('last-step-softmax-bi', [{ name: 'probs', parameters: { classification: 3 } }])).json();
  t.same(all.outputs[0].shape, [2, 3]);
  t.same(all.outputs[0].data, expectedStrings(bi.data, 3, 3, CLASSES));
  t.ok(
    all.outputs[0].data.every((s: string) => Number(s.split(':')[0]) > 0 && Number(s.split(':')[0]) < 1),
    'probabilities',
  );

  // Without labels.txt: score:index.
  const probs = (await infer('embedding-classifier')).json().outputs[0];
  const unlabelled = await infer('embedding-classifier', [{ name: 'probs', parameters: { classification: 1 } }]);
  t.equal(unlabelled.statusCode, 200, unlabelled.body.slice(0, 300));
  t.same(unlabelled.json().outputs[0].data, expectedStrings(probs.data, 2, 1, null));
  t.match(unlabelled.json().outputs[0].data[0], /^0\.\d+:[01]$/);
});

t.test('binary: BYTES elements length-prefixed after the JSON header, the JSON strings', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const inputs = inputsOf('embedding-tagger');
  const json = await app.inject({
    method: 'POST',
    url: '/v2/models/embedding-tagger/infer',
    payload: { inputs, outputs: [{ name: 'log_probs', parameters: { classification: 3 } }] },
  });
  const expected = json.json().outputs[0].data as string[];
  t.equal(expected.length, 36);
  for (const parameters of [{ binary_data_output: true }, {}]) {
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/embedding-tagger/infer',
      payload: {
        inputs,
        parameters,
        outputs: [
          {
            name: 'log_probs',
            parameters: { classification: 3, ...('binary_data_output' in parameters ? {} : { binary_data: true }) },
          },
        ],
      },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    t.equal(res.headers['content-type'], 'application/octet-stream');
    const length = Number(res.headers['inference-header-content-length']);
    const header = JSON.parse(res.rawPayload.subarray(0, length).toString('utf8'));
    const [output] = header.outputs;
    t.same(
      { name: output.name, datatype: output.datatype, shape: output.shape },
      { name: 'log_probs', datatype: 'BYTES', shape: [2, 6, 3] },
    );
    const tensor = res.rawPayload.subarray(length);
    t.equal(output.parameters.binary_data_size, tensor.length, 'binary_data_size is the bytes after the header');
    t.same(readBytesElements(tensor), expected, 'the same strings as the JSON answer');
  }
});

t.test('classification refused: not a classifier output, K above its classes or not a count', async (t) => {
  const { app } = await build(t, { models: { dir: repository(t) } });
  const refused = async (name: string, output: object, inputs: object[] = inputsOf(name)) => {
    const res = await app.inject({
      method: 'POST',
      url: `/v2/models/${name}/infer`,
      payload: { inputs, outputs: [output] },
    });
    t.equal(res.statusCode, 400, res.body.slice(0, 200));
    t.match(res.headers['content-type'], /^application\/json/);
    return res.json().error as string;
  };
  const notClassifier =
    /^outputs\[0\]\.parameters\.classification: applies to classifier outputs \(an output written by Softmax or LogSoftmax over its last axis, of a fixed size\); '(\w+)' is not one/;
  t.match(await refused('rnn-1-tanh-bf', { name: 'y', parameters: { classification: 1 } }), notClassifier);
  t.match(await refused('rnn-1-tanh-bf', { name: 'h_n', parameters: { classification: 1 } }), notClassifier);
  t.match(await refused('last-step-linear', { name: 'logits', parameters: { classification: 1 } }), notClassifier);
  const x = { name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] };
  t.match(
    await refused('dynamic-softmax', { name: 'p', parameters: { classification: 1 } }, [x]),
    /'p' is not one/,
    'a softmax whose class count the graph leaves dynamic',
  );
  t.match(
    await refused('embedding-tagger', { name: 'log_probs', parameters: { classification: 4 } }),
    /^outputs\[0\]\.parameters\.classification: is 4; 'log_probs' has 3 classes$/,
  );
  for (const k of [0, 1.5, '2', true])
    t.match(
      await refused('embedding-classifier', { name: 'probs', parameters: { classification: k } }),
      /^outputs\[0\]\.parameters\.classification: is .*; expected a count of classes, an integer of at least 1$/,
      `classification ${JSON.stringify(k)}`,
    );
  // The plain output of the dynamic softmax is still served.
  const plain = await app.inject({ method: 'POST', url: '/v2/models/dynamic-softmax/infer', payload: { inputs: [x] } });
  t.equal(plain.statusCode, 200, plain.body.slice(0, 200));
});

t.test('MAX_OUTPUT_VALUES counts the ranked output and its class entries', async (t) => {
  // The tagger's [2, 6, 3] output is 36 values; K = 3 adds 12 rows · 3 entries · 4 (CLASS_ENTRY_VALUES) = 144.
  const { app } = await build(t, { models: { dir: repository(t) }, limits: { maxOutputValues: 100 } });
  const inputs = inputsOf('embedding-tagger');
  const infer = (outputs?: object[]) =>
    app.inject({ method: 'POST', url: '/v2/models/embedding-tagger/infer', payload: { inputs, outputs } });
  t.equal((await infer()).statusCode, 200, 'the plain output fits');
  t.equal((await infer([{ name: 'log_probs', parameters: { classification: 1 } }])).statusCode, 200, '36 + 48 fits');
  const res = await infer([{ name: 'log_probs', parameters: { classification: 2 } }]);
  t.equal(res.statusCode, 400);
  t.match(res.json().error, /132.*100.*MAX_OUTPUT_VALUES/);
});

t.test(
  'metadata: labels on GET /models/{name}; classifier outputs and labels in the protocol parameters',
  async (t) => {
    const { app } = await build(t, { models: { dir: repository(t) } });
    const get = (url: string) => app.inject({ method: 'GET', url }).then((r) => r.json());
    t.same((await get('/models/embedding-tagger')).labels, TAGS);
    t.notOk('labels' in (await get('/models/embedding-classifier')), 'absent without labels.txt');
    t.notOk('labels' in (await get('/models/rnn-1-tanh-bf')));

    const tagger = (await get('/v2/models/embedding-tagger')).parameters;
    t.equal(tagger.classification, "'log_probs': 3 classes (LogSoftmax over its last axis)");
    t.same(JSON.parse(tagger.labels), TAGS);
    const classifier = (await get('/v2/models/embedding-classifier')).parameters;
    t.equal(classifier.classification, "'probs': 2 classes (Softmax over its last axis)");
    t.notOk('labels' in classifier);
    const rnn = (await get('/v2/models/rnn-1-tanh-bf')).parameters;
    t.notOk('classification' in rnn || 'labels' in rnn, 'no classifier output: neither');
  },
);

t.test('the shipped sentiment-onnx: labelled negative, positive', async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  t.same((await app.inject({ method: 'GET', url: '/models/sentiment-onnx' })).json().labels, ['negative', 'positive']);
  const inputs = [{ name: 'ids', datatype: 'INT64', shape: [2, 4], data: [1, 2, 3, 4, 15, 14, 13, 12] }];
  const infer = (outputs?: object[]) =>
    app.inject({ method: 'POST', url: '/v2/models/sentiment-onnx/infer', payload: { inputs, outputs } });
  const probs = (await infer()).json().outputs[0].data as number[];
  const res = await infer([{ name: 'probs', parameters: { classification: 1 } }]);
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.same(res.json().outputs[0].data, expectedStrings(probs, 2, 1, ['negative', 'positive']));
});
