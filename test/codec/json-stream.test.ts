/**
 * Streamed answers (src/codec/json-stream.ts) equal the whole answers they restate, byte for byte: the
 * range writers against `nested`/`flat` over random shapes and random cuts, and whole forward answers
 * (nested and flat, lists of states, mergeMode null, text with a non-ASCII vocabulary, a served model) against
 * the same answers streamed with chunk sizes down to 1 byte, so chunks end inside numbers and strings.
 */
import t from 'tap';
import { answerShapingRequests } from '../helpers/answer-requests.js';
import { ForwardRequest } from '../../schemas/forward.js';
import { ModelForwardRequest } from '../../schemas/models.js';
import { defaultConfig } from '../../src/config/config.js';
import { JsonChunks, type JsonAnswer, isStreamed } from '../../src/codec/json-stream.js';
import { JsonWriter } from '../../src/codec/json-writer.js';
import { computeForward, planForward, planServed, writeResponse } from '../helpers/forward.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { loadRepository } from '../../src/models/repository.js';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { randomNested, rng } from '../helpers/random.js';

const cache = new SeededWeightsCache(8);
const CHUNK_SIZES = [1, 2, 3, 7, 64, 1000, 64 * 1024];

/** Every chunk of a streamed answer, and their bytes joined. */
function streamed(answer: JsonAnswer, chunkBytes: number): { chunks: Buffer[]; text: string } {
  if (!isStreamed(answer)) throw new Error('expected an answer to stream');
  const source = new JsonChunks(answer, chunkBytes);
  const chunks: Buffer[] = [];
  for (let chunk = source.next(); chunk !== null; chunk = source.next()) chunks.push(Buffer.from(chunk));
  return { chunks, text: Buffer.concat(chunks).toString('utf8') };
}

const whole = (answer: JsonAnswer): string => {
  if (typeof answer === 'string') return answer;
  if (answer instanceof Uint8Array) return Buffer.from(answer).toString('utf8');
  throw new Error('expected a whole answer');
};

/** A random float32 tensor, with a few values that take the writer's rarer paths (exponents, zeros, negatives). */
function randomTensor(random: () => number, length: number): Float32Array {
  const data = new Float32Array(length);
  const specials = [0, -0, 1e-7, -3.4e38, 1e21, 123456789, 0.1];
  for (let i = 0; i < length; i++)
    data[i] =
      random() < 0.1 ? specials[Math.floor(random() * specials.length)] : (random() * 2 - 1) * 10 ** (random() * 6 - 3);
  return data;
}

t.test('nestedRange and flatRange over any cuts write what nested and flat write', async (t) => {
  const random = rng(11);
  let checked = 0;
  for (let n = 0; n < 300; n++) {
    const rank = 1 + Math.floor(random() * 4);
    // Now and then a zero dimension (an empty tensor), else 1 to 4 per axis.
    const shape = Array.from({ length: rank }, () => (random() < 0.03 ? 0 : 1 + Math.floor(random() * 4)));
    const data = randomTensor(
      random,
      shape.reduce((a, b) => a * b, 1),
    );
    for (const format of ['nested', 'flat'] as const) {
      const expected = new JsonWriter();
      if (format === 'nested') expected.nested(data, shape);
      else expected.flat(data, shape);
      // Random cuts, written through a chunked writer with a random small chunk size.
      const chunks: Buffer[] = [];
      const writer = JsonWriter.chunked(1 + Math.floor(random() * 9), (chunk) => chunks.push(Buffer.from(chunk)));
      let from = 0;
      do {
        const to = Math.min(data.length, from + 1 + Math.floor(random() * 5));
        if (format === 'nested') writer.nestedRange(data, shape, from, to);
        else writer.flatRange(data, shape, from, to);
        from = to;
      } while (from < data.length);
      writer.end();
      const text = Buffer.concat(chunks).toString('latin1');
      if (text !== expected.text()) t.fail(`${format} ${JSON.stringify(shape)}: ${text}`);
      checked++;
    }
  }
  t.equal(checked, 600, 'every tensor checked in both formats');
});

t.test('a chunked writer hands out full chunks of the size asked, the last one shorter', async (t) => {
  const chunks: Buffer[] = [];
  const writer = JsonWriter.chunked(5, (chunk) => chunks.push(Buffer.from(chunk)));
  writer
    .raw('{"vocabulary":["hé","llo😀"],"x":')
    .nestedRange(new Float32Array([0.5, -1.25, 3]), [3], 0, 3)
    .raw('}');
  writer.end();
  const text = Buffer.concat(chunks).toString('utf8');
  t.equal(text, '{"vocabulary":["hé","llo😀"],"x":[0.5,-1.25,3]}');
  t.ok(
    chunks.slice(0, -1).every((c) => c.length === 5),
    'every chunk but the last is 5 bytes (some end inside a character)',
  );
  t.ok(chunks[chunks.length - 1].length > 0 && chunks[chunks.length - 1].length <= 5);
});

const random = rng(23);
const inputs = (b: number, time: number, f: number) => randomNested(random, [b, time, f], 2);

/** Requests over the options that shape an answer; each is answered whole and streamed. */
function requests(): Record<string, unknown>[] {
  const fixed: Record<string, unknown>[] = [
    ...answerShapingRequests(inputs),
    { text: ['hé', 'llo😀'], hiddenSize: 3, seed: 4, outputFormat: 'flat', returnState: false },
    { inputs: { shape: [2, 3, 2], data: Array.from({ length: 12 }, (_, i) => i / 7) }, hiddenSize: 2, seed: 3 },
  ];

  // And random ones: shapes, stacks, directions, formats and options drawn from the seeded generator.
  const drawn = Array.from({ length: 40 }, () => {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const [b, time, f] = [1 + Math.floor(random() * 3), 1 + Math.floor(random() * 5), 1 + Math.floor(random() * 3)];
    const layers = Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({
      hiddenSize: 1 + Math.floor(random() * 4),
    }));
    return {
      inputs: inputs(b, time, f),
      layers,
      seed: Math.floor(random() * 1000),
      outputFormat: pick(['nested', 'flat']),
      returnSequences: random() < 0.7,
      returnState: random() < 0.7,
      ...(random() < 0.4
        ? {
            bidirectional: {
              mergeMode: pick(layers.length === 1 ? [null, 'concat', 'sum'] : ['concat', 'mul', 'ave']),
            },
          }
        : {}),
    };
  });
  return [...fixed, ...drawn];
}

t.test('forward answers streamed equal the answers written whole, for every chunk size', async (t) => {
  for (const body of requests()) {
    const plan = planForward(ForwardRequest.parse(body), defaultConfig.limits, cache);
    const result = computeForward(plan);
    const expected = whole(writeResponse(plan, result, Number.POSITIVE_INFINITY));
    JSON.parse(expected);
    for (const size of CHUNK_SIZES) {
      const { text } = streamed(writeResponse(plan, result, 0), size);
      if (text !== expected) t.fail(`${JSON.stringify(body).slice(0, 120)}, chunks of ${size}: ${text}`);
    }
  }
  t.pass('all equal');
});

t.test("a served model's answers streamed equal them whole (inputs and text over its vocabulary)", async (t) => {
  const limits = defaultConfig.limits;
  const repository = await loadRepository({ dir: SHIPPED_MODELS, onError: 'fail' }, limits, cache);
  const served = repository.get('hello');
  if (served.kind !== 'rnn') throw new Error('models/hello is an rnn-serve model.json');
  const bodies = [
    { inputs: inputs(2, 3, 4) },
    { text: ['hello', 'ole'], outputFormat: 'flat' as const },
    { text: ['hello'], returnSequences: false },
  ];
  for (const body of bodies) {
    const plan = planServed(served, ModelForwardRequest.parse(body), limits, cache);
    const result = computeForward(plan);
    const expected = whole(writeResponse(plan, result, Number.POSITIVE_INFINITY));
    for (const size of CHUNK_SIZES) t.equal(streamed(writeResponse(plan, result, 0), size).text, expected);
  }
});

t.test('answers are streamed from STREAM_MIN_BYTES of expected JSON, written whole below', async (t) => {
  const plan = planForward(
    ForwardRequest.parse({ inputs: inputs(1, 5, 4), hiddenSize: 2, seed: 42 }),
    defaultConfig.limits,
    cache,
  );
  const result = computeForward(plan);
  t.type(writeResponse(plan, result), 'string', 'the hello answer is one string, as before');
  // 10 outputs and 2 state values at 16 bytes each: 192 bytes expected.
  t.ok(isStreamed(writeResponse(plan, result, 192)));
  t.notOk(isStreamed(writeResponse(plan, result, 193)));
});

t.test("topK's class entries count towards streaming, and the streamed ranking equals the whole one", async (t) => {
  const plan = planForward(
    ForwardRequest.parse({ inputs: inputs(1, 5, 4), hiddenSize: 2, seed: 42, topK: 2, returnState: false }),
    defaultConfig.limits,
    cache,
  );
  const result = computeForward(plan);
  // 10 outputs (160 bytes) and 5 rows · 2 entries · 4 (CLASS_ENTRY_VALUES) at 16 bytes each: 800 bytes expected.
  t.ok(isStreamed(writeResponse(plan, result, 800)));
  t.notOk(isStreamed(writeResponse(plan, result, 801)));
  const expected = whole(writeResponse(plan, result, Number.POSITIVE_INFINITY));
  t.match(expected, /"classes":\[\[\[\{"score":/, '[batch, time, K] entries');
  for (const size of CHUNK_SIZES) t.equal(streamed(writeResponse(plan, result, 800), size).text, expected);
});

t.test('a non-finite result is refused before anything is streamed', async (t) => {
  const body = {
    inputs: [[[1e30]]],
    hiddenSize: 1,
    activation: 'linear',
    weights: { kernel: [[1e30]], recurrentKernel: [[0]], bias: [0] },
  };
  const plan = planForward(ForwardRequest.parse(body), defaultConfig.limits, cache);
  const result = computeForward(plan);
  t.throws(() => writeResponse(plan, result, 0), { name: 'ProblemError', kind: 'non-finite-result' } as never);
});
