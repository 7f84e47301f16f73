/**
 * Answers written in chunks, for answers too large to hold whole (a 2^22-value answer is ~60 MB of JSON, and
 * writing it whole briefly needed twice that: json-writer.ts doubles its buffer, then copies it out).
 *
 * An answer to stream is planned as parts: text written as it is, and tensors written by the JSON writer
 * (nested or flat). The parts are plain data, so an answer planned on a worker crosses to the event loop by
 * structured clone with its tensors transferred (no copy, no JSON). `JsonChunks` writes them on demand: each
 * `next()` writes just enough for one more chunk (at most STEP_VALUES values past it), so a caller that asks for
 * the next chunk only once the last one is sent holds about one chunk of JSON, plus the tensors.
 *
 * Streaming restates the whole-answer writer (protocols/forward-answer.ts, `writeForwardAnswer`), which stays the
 * fast path for small answers; test/codec/json-stream.test.ts holds the two equal, byte for byte, for many
 * answers and chunk sizes down to 1 byte (chunks end inside numbers and strings).
 */
import { type JsonBody, JsonWriter, type PreparedText } from './json-writer.js';

/** A tensor of an answer, written as `JsonWriter#nested` or `JsonWriter#flat` writes it. */
export interface JsonTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly format: 'nested' | 'flat';
}

export type JsonPart = PreparedText | JsonTensor;

/** An answer to be written in chunks when it is sent: its parts, in order. */
export interface StreamedJson {
  readonly streamed: readonly JsonPart[];
}

/** What a route sends: a JSON body written whole, or an answer to stream. */
export type JsonAnswer = JsonBody | StreamedJson;

export function isStreamed(answer: JsonAnswer): answer is StreamedJson {
  return typeof answer === 'object' && !(answer instanceof Uint8Array);
}

/**
 * Answers of at least this many bytes (as estimated: BYTES_PER_VALUE per value) are streamed, in chunks, when
 * sent; smaller ones are written whole, at once (the hello answer's path). Where an answer is planned
 * (protocols/forward-answer.ts, inference/weights-export.ts) decides by it.
 */
export const STREAM_MIN_BYTES = 1 << 20;

/** At most what a float32 takes in an answer: 9 significant digits, a sign, a point, an exponent, a comma. */
export const BYTES_PER_VALUE = 16;

/** The size of the chunks of a streamed answer. */
export const STREAM_CHUNK_BYTES = 64 * 1024;

/** Values of a tensor written per step (≤ ~16 KiB of JSON): how far `next()` may write past the chunk it returns. */
const STEP_VALUES = 1024;

export class JsonChunks {
  readonly #parts: readonly JsonPart[];
  readonly #writer: JsonWriter;
  readonly #ready: Buffer[] = [];
  #part = 0;
  /** The next element of the tensor at #part. */
  #at = 0;
  #done = false;
  /** Chunks handed out so far (what a test of backpressure counts). */
  produced = 0;

  constructor(answer: StreamedJson, chunkBytes = STREAM_CHUNK_BYTES) {
    this.#parts = answer.streamed;
    this.#writer = JsonWriter.chunked(chunkBytes, (chunk) => this.#ready.push(chunk));
  }

  /** The next chunk, or null after the last. */
  next(): Buffer | null {
    while (this.#ready.length === 0 && !this.#done) this.#step();
    const chunk = this.#ready.shift();
    if (chunk === undefined) return null;
    this.produced++;
    return chunk;
  }

  /** Writes the next part, or the next STEP_VALUES values of a tensor; after the last, hands out the rest. */
  #step(): void {
    const writer = this.#writer;
    if (this.#part === this.#parts.length) {
      writer.end();
      this.#done = true;
      return;
    }
    const part = this.#parts[this.#part];
    if (typeof part === 'string' || part instanceof Uint8Array) {
      writer.prepared(part);
      this.#part++;
      return;
    }
    const { data, shape, format } = part;
    const from = this.#at;
    const to = Math.min(data.length, from + STEP_VALUES);
    if (format === 'flat') writer.flatRange(data, shape, from, to);
    else writer.nestedRange(data, shape, from, to);
    if (to === data.length) {
      this.#part++;
      this.#at = 0;
    } else this.#at = to;
  }
}

/** The whole text of an answer, for a caller that needs all of it at once (it is then held whole). */
export function answerText(answer: JsonAnswer): string {
  if (typeof answer === 'string') return answer;
  if (answer instanceof Uint8Array)
    return Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength).toString('utf8');
  const chunks = new JsonChunks(answer);
  const all: Buffer[] = [];
  for (let chunk = chunks.next(); chunk !== null; chunk = chunks.next()) all.push(chunk);
  return Buffer.concat(all).toString('utf8');
}

/** The buffers of a streamed answer's tensors, to transfer (each spans its buffer: `ownBuffers` made sure). */
export function tensorBuffers(answer: StreamedJson): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const part of answer.streamed)
    if (typeof part === 'object' && !(part instanceof Uint8Array)) buffers.add(part.data.buffer as ArrayBuffer);
  return [...buffers];
}

/**
 * The answer with every tensor in a buffer of its own, so that transferring one moves nothing else (a small
 * tensor may be a view into a shared slab, engine/arrays.ts; a clone of the view would copy the whole slab).
 */
export function ownBuffers(answer: StreamedJson): StreamedJson {
  return {
    streamed: answer.streamed.map((part) =>
      typeof part === 'object' && !(part instanceof Uint8Array) && part.data.byteLength !== part.data.buffer.byteLength
        ? { ...part, data: part.data.slice() }
        : part,
    ),
  };
}
