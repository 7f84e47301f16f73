/**
 * A purpose-built JSON writer for large float32 tensors: digits go straight into a byte buffer, with no
 * intermediate nested arrays and no generic number-to-string conversion. Each float32 is written as its
 * shortest round-trip decimal, in the same notation as JavaScript's Number#toString (so the bytes equal
 * JSON.stringify of the same decimal): see `float32Text` for how the digits are found.
 *
 * Allocation matters as much as digits for small answers (a hello answer is ~400 bytes): a new typed array
 * per answer cost more than writing its twelve numbers. So writers borrow one scratch buffer per thread
 * (writing is synchronous; a writer made while another holds it gets its own buffer) and hand the result
 * out once, as a string when small, as an exactly sized copy when large.
 *
 * Large answers are not written whole: a writer made by `JsonWriter.chunked` hands its bytes to a sink in
 * chunks of a fixed size as they fill (a chunk may end inside a number or a string), and `nestedRange` /
 * `flatRange` write a tensor a slice of its elements at a time, so that a caller (json-stream.ts) can stop
 * between slices until the chunks already handed out are sent. `nested` and `flat` are the fast path of one
 * range over the whole tensor: test/codec/json-stream.test.ts holds them equal, byte for byte.
 *
 * Fast path of: JSON.stringify over the shortest round-trip decimal of each float32. Held equal, byte for byte,
 * by test/codec/json-writer.test.ts (against a naive toPrecision reference and JSON.stringify).
 */
import { decimalExponent, float32Text, POW10 } from './float-format.js';

const MINUS = 45;
const ZERO = 48;
const DOT = 46;
const COMMA = 44;
const OPEN = 91;
const CLOSE = 93;

/**
 * Answers below this many bytes come out as a string: Node then writes the headers and the body in one
 * write, where a Buffer costs a second one (writev). Larger ones stay bytes (no copy into a string).
 */
export const TEXT_BELOW = 64 * 1024;

/**
 * Chunked mode: room past a chunk's end for the longest thing written at once but text (a number, a row's
 * brackets), so that a chunk fills without a copy.
 */
const CHUNK_SLACK = 64;

/** The scratch buffer keeps the size of the largest answer up to this; larger ones get a buffer of their own. */
const SCRATCH_MAX = 1 << 20;

/** A JSON body ready to send: text when small, UTF-8 bytes when large. */
export type JsonBody = string | Uint8Array;

/** Text written into many answers (a model's summary), encoded once: its bytes when it is ASCII, else the text. */
export type PreparedText = Uint8Array | string;

export function prepareText(text: string): PreparedText {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII, control characters included
  return /^[\x00-\x7f]*$/.test(text) ? Buffer.from(text, 'latin1') : text;
}

const EMPTY = Buffer.alloc(0);

let scratch: Buffer | null = Buffer.allocUnsafeSlow(1 << 14);

/** Whether the p-significant-digit decimal nearest a (whose decimal exponent is e) reads back as a. */
function fits(a: number, e: number, p: number): boolean {
  const k = p - 1 - e;
  if (k > 22 || k < -22) return false;
  // Multiplying or dividing by an exact power of ten rounds correctly: this is the double the decimal
  // text parses to.
  const value = k >= 0 ? Math.round(a * POW10[k]) / POW10[k] : Math.round(a / POW10[-k]) * POW10[-k];
  return Math.fround(value) === a;
}

const digits = new Uint8Array(20);

/** Nested empty arrays of `shape` (a dimension is 0, so there are no elements): `[]`, `[[],[]]`, ... */
function emptyNested(shape: readonly number[]): unknown[] {
  if (shape.length <= 1 || shape[0] === 0) return [];
  return Array.from({ length: shape[0] }, () => emptyNested(shape.slice(1)));
}

export class JsonWriter {
  private buffer: Buffer;
  /** Whether `buffer` is the thread's scratch buffer (given back by `text`/`bytes`/`body`). */
  private borrowed: boolean;
  private length = 0;
  /** Whether everything written so far is ASCII (the text is then read out as latin1, which is cheaper). */
  private ascii = true;
  /** Chunked mode (JsonWriter.chunked): the size of the chunks handed to `sink`; 0 when the answer is kept whole. */
  private chunkBytes = 0;
  private sink: ((chunk: Buffer) => void) | null = null;

  /**
   * A writer that keeps at most about one chunk: whenever `chunkBytes` bytes are written they go to `sink`, in
   * a Buffer of their own (the sink may keep it: it is never written again); `end` hands out the rest.
   */
  static chunked(chunkBytes: number, sink: (chunk: Buffer) => void): JsonWriter {
    // A buffer of its own, never the thread's scratch buffer: a streamed answer outlives the turn that started it.
    const writer = new JsonWriter(-1);
    writer.buffer = Buffer.allocUnsafeSlow(chunkBytes + CHUNK_SLACK);
    writer.chunkBytes = chunkBytes;
    writer.sink = sink;
    return writer;
  }

  /** `capacity` -1: no buffer yet (JsonWriter.chunked gives it one). */
  constructor(capacity = 1 << 12) {
    if (capacity < 0) {
      this.buffer = EMPTY;
      this.borrowed = false;
    } else if (capacity <= SCRATCH_MAX) {
      // Without a free scratch buffer (another writer holds it, or one failed midway) this writer's own
      // buffer becomes the scratch buffer when it is done.
      const free = scratch;
      scratch = null;
      this.buffer =
        free !== null && free.length >= capacity ? free : Buffer.allocUnsafeSlow(Math.max(capacity, 1 << 12));
      this.borrowed = true;
    } else {
      this.buffer = Buffer.allocUnsafeSlow(capacity);
      this.borrowed = false;
    }
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    if (this.chunkBytes > 0 && this.spill(bytes)) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    this.buffer.copy(grown, 0, 0, this.length);
    if (this.borrowed && size > SCRATCH_MAX) {
      // Too large to keep around: the scratch buffer goes back as it was, this writer continues on its own.
      scratch = this.buffer;
      this.borrowed = false;
    }
    this.buffer = grown;
  }

  /**
   * Chunked mode: hands out every whole chunk written, carrying the bytes past the last one into a new buffer.
   * Whether `bytes` more now fit (a text longer than CHUNK_SLACK may not: the buffer then grows as usual).
   */
  private spill(bytes: number): boolean {
    const size = this.chunkBytes;
    if (this.length < size) return false;
    const sink = this.sink as (chunk: Buffer) => void;
    let at = 0;
    for (; at + size <= this.length; at += size) sink(this.buffer.subarray(at, at + size));
    const next = Buffer.allocUnsafeSlow(size + CHUNK_SLACK);
    this.buffer.copy(next, 0, at, this.length);
    this.length -= at;
    this.buffer = next;
    return this.length + bytes <= next.length;
  }

  /** Chunked mode: hands out what is left (the last chunk, shorter than the others unless empty); the writer is done. */
  end(): void {
    const sink = this.sink as (chunk: Buffer) => void;
    for (let at = 0; at < this.length; at += this.chunkBytes)
      sink(this.buffer.subarray(at, Math.min(at + this.chunkBytes, this.length)));
    this.length = 0;
  }

  /** Writes text (JSON punctuation, keys, small values already serialised). */
  raw(text: string): this {
    const n = text.length;
    this.reserve(n * 3);
    const buf = this.buffer;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        // Not ASCII: the rest through Node's UTF-8 encoder.
        this.ascii = false;
        this.length = at + buf.write(text.slice(i), at, 'utf8');
        return this;
      }
      buf[at++] = c;
    }
    this.length = at;
    return this;
  }

  /** Writes prepared text: ASCII bytes copied as they are (no per-character loop), other text as `raw` does. */
  prepared(text: PreparedText): this {
    if (typeof text === 'string') return this.raw(text);
    this.reserve(text.length);
    this.buffer.set(text, this.length);
    this.length += text.length;
    return this;
  }

  /** Writes a float32 value (finite: non-finite values have no JSON form and are rejected before). */
  float32(x: number): void {
    this.reserve(32);
    const buf = this.buffer;
    if (x === 0) {
      buf[this.length++] = ZERO;
      return;
    }
    let a = x;
    if (a < 0) {
      buf[this.length++] = MINUS;
      a = -a;
    }
    const e = decimalExponent(a);
    // The shortest p: most activations need 7 to 9 digits, so start at 7 and walk down while it still
    // reads back, or up until it does (round-tripping is monotone in p; see float-format.ts).
    let p = 7;
    let found = fits(a, e, p);
    if (found) {
      while (p > 1 && fits(a, e, p - 1)) p--;
    } else {
      while (p < 9 && !found) found = fits(a, e, ++p);
    }
    const k = p - 1 - e; // decimals after the point; negative: trailing zeros before it
    if (found && e < 21 && e >= -6) {
      // At most 9 digits: below 2^31, so integer arithmetic from here on.
      let m = (k >= 0 ? Math.round(a * POW10[k]) : Math.round(a / POW10[-k])) | 0;
      let scale = k;
      while (scale > 0 && m % 10 === 0) {
        m = (m / 10) | 0;
        scale--;
      }
      let n = 0;
      do {
        const q = (m / 10) | 0;
        digits[n++] = ZERO + (m - q * 10);
        m = q;
      } while (m > 0);
      // As Number#toString lays out a decimal of n digits whose point sits after `point` of them.
      const point = n - scale;
      if (point <= 0) {
        buf[this.length++] = ZERO;
        buf[this.length++] = DOT;
        for (let z = 0; z < -point; z++) buf[this.length++] = ZERO;
        for (let d = n - 1; d >= 0; d--) buf[this.length++] = digits[d];
      } else {
        for (let d = n - 1; d >= 0; d--) {
          buf[this.length++] = digits[d];
          if (n - d === point && d > 0) buf[this.length++] = DOT;
        }
        for (let z = n; z < point; z++) buf[this.length++] = ZERO;
      }
      return;
    }
    // Rare: exponent notation (below 1e-6 or from 1e21) or exponents beyond the exact powers of ten.
    this.raw(float32Text(a));
  }

  /** Writes a non-negative safe integer (a size, an index, a seed). */
  int(n: number): this {
    if (!(Number.isSafeInteger(n) && n >= 0)) return this.raw(String(n));
    this.reserve(16);
    const buf = this.buffer;
    let d = 0;
    do {
      digits[d++] = ZERO + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    while (d > 0) buf[this.length++] = digits[--d];
    return this;
  }

  /** A shape: `[2,5,4]`. */
  ints(values: readonly number[]): this {
    this.reserve(1);
    this.buffer[this.length++] = OPEN;
    for (let i = 0; i < values.length; i++) {
      if (i > 0) {
        this.reserve(1);
        this.buffer[this.length++] = COMMA;
      }
      this.int(values[i]);
    }
    this.reserve(1);
    this.buffer[this.length++] = CLOSE;
    return this;
  }

  /**
   * A row-major tensor as nested arrays of `shape`, element by element: a bracket opens for every axis whose
   * index just became 0 and closes for every axis whose index just wrapped (an odometer over the indices).
   */
  nested(data: Float32Array, shape: readonly number[]): this {
    const rank = shape.length;
    const total = data.length;
    if (rank === 0 || total === 0) return this.raw(JSON.stringify(emptyNested(shape)));
    const index = new Array<number>(rank).fill(0);
    const last = shape[rank - 1];
    this.reserve(rank);
    for (let a = 0; a < rank; a++) this.buffer[this.length++] = OPEN;
    for (let i = 0; i < total; i += last) {
      for (let j = 0; j < last; j++) {
        if (j > 0) {
          this.reserve(1);
          this.buffer[this.length++] = COMMA;
        }
        this.float32(data[i + j]);
      }
      // Close the innermost row, then every axis that wraps; reopen as many after a comma.
      let closed = 1;
      for (let a = rank - 2; a >= 0; a--) {
        if (++index[a] < shape[a]) break;
        index[a] = 0;
        closed++;
      }
      this.reserve(2 * closed + 1);
      for (let c = 0; c < closed; c++) this.buffer[this.length++] = CLOSE;
      if (i + last < total) {
        this.buffer[this.length++] = COMMA;
        for (let c = 0; c < closed; c++) this.buffer[this.length++] = OPEN;
      }
    }
    return this;
  }

  /** A tensor as `{"shape":[...],"data":[...]}`. */
  flat(data: Float32Array, shape: readonly number[]): this {
    return this.raw('{"shape":').ints(shape).raw(',"data":').floats(data).raw('}');
  }

  /** The values as one flat array: `[0.5,-1]`. */
  floats(data: Float32Array): this {
    this.reserve(1);
    this.buffer[this.length++] = OPEN;
    for (let i = 0; i < data.length; i++) {
      if (i > 0) {
        this.reserve(1);
        this.buffer[this.length++] = COMMA;
      }
      this.float32(data[i]);
    }
    this.reserve(1);
    this.buffer[this.length++] = CLOSE;
    return this;
  }

  /**
   * Elements [from, to) of `nested(data, shape)`, with what comes before each (commas, the brackets that close
   * and reopen at a row's end) and the outer brackets at the ends: ranges that cover the tensor in order write
   * what `nested` writes. An empty tensor is written whole by the range from 0 to 0.
   */
  nestedRange(data: Float32Array, shape: readonly number[], from: number, to: number): this {
    const rank = shape.length;
    const total = data.length;
    if (rank === 0 || total === 0) return from === 0 ? this.raw(JSON.stringify(emptyNested(shape))) : this;
    const last = shape[rank - 1];
    if (from === 0) {
      this.reserve(rank);
      for (let a = 0; a < rank; a++) this.buffer[this.length++] = OPEN;
    }
    for (let i = from; i < to; i++) {
      if (i > 0) {
        if (i % last !== 0) {
          this.reserve(1);
          this.buffer[this.length++] = COMMA;
        } else {
          // A row ends: it closes, and so does every axis but the first whose index wraps (as in `nested`).
          let closed = 1;
          let row = i / last;
          for (let a = rank - 2; a >= 1 && row % shape[a] === 0; a--) {
            row /= shape[a];
            closed++;
          }
          this.reserve(2 * closed + 1);
          for (let c = 0; c < closed; c++) this.buffer[this.length++] = CLOSE;
          this.buffer[this.length++] = COMMA;
          for (let c = 0; c < closed; c++) this.buffer[this.length++] = OPEN;
        }
      }
      this.float32(data[i]);
    }
    if (to === total) {
      this.reserve(rank);
      for (let a = 0; a < rank; a++) this.buffer[this.length++] = CLOSE;
    }
    return this;
  }

  /** Elements [from, to) of `flat(data, shape)`, with its head before the first and its tail after the last. */
  flatRange(data: Float32Array, shape: readonly number[], from: number, to: number): this {
    if (from === 0) this.raw('{"shape":').ints(shape).raw(',"data":[');
    for (let i = from; i < to; i++) {
      if (i > 0) {
        this.reserve(1);
        this.buffer[this.length++] = COMMA;
      }
      this.float32(data[i]);
    }
    return to === data.length ? this.raw(']}') : this;
  }

  /** Gives the scratch buffer back for the next writer (this one is done). */
  private release(): void {
    // A borrowed buffer is never above SCRATCH_MAX: reserve() stops borrowing when it grows past it.
    if (this.borrowed) {
      scratch = this.buffer;
      this.borrowed = false;
    }
  }

  /** The text written; the writer is done. */
  text(): string {
    const text = this.buffer.toString(this.ascii ? 'latin1' : 'utf8', 0, this.length);
    this.release();
    return text;
  }

  /** The bytes written, in an array of their own; the writer is done. */
  bytes(): Uint8Array {
    const bytes = this.borrowed
      ? new Uint8Array(this.buffer.subarray(0, this.length))
      : new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.length);
    this.release();
    return bytes;
  }

  /** What to send: the text below TEXT_BELOW bytes, else the bytes; the writer is done. */
  body(): JsonBody {
    return this.length < TEXT_BELOW ? this.text() : this.bytes();
  }

  toString(): string {
    return this.text();
  }
}
