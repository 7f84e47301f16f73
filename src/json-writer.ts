/**
 * A purpose-built JSON writer for large float32 tensors: digits go straight into a byte buffer, with no
 * intermediate nested arrays and no generic number-to-string conversion. Each float32 is written as its
 * shortest round-trip decimal, in the same notation as JavaScript's Number#toString (so the bytes equal
 * JSON.stringify of the same decimal): see `float32Text` for how the digits are found.
 */
import { float32Text } from './float-format.js';

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 10^22
const MINUS = 45;
const ZERO = 48;
const DOT = 46;
const COMMA = 44;
const OPEN = 91;
const CLOSE = 93;

/** Whether the p-significant-digit decimal nearest a (whose decimal exponent is e) reads back as a. */
function fits(a: number, e: number, p: number): boolean {
  const k = p - 1 - e;
  if (k > 22 || k < -22) return false;
  // Multiplying or dividing by an exact power of ten rounds correctly: this is the double the decimal
  // text parses to.
  const value = k >= 0 ? Math.round(a * POW10[k]) / POW10[k] : Math.round(a / POW10[-k]) * POW10[-k];
  return Math.fround(value) === a;
}

export class JsonWriter {
  private buffer: Uint8Array;
  private length = 0;
  private readonly digits = new Uint8Array(10);

  constructor(capacity = 1 << 16) {
    this.buffer = new Uint8Array(capacity);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** Writes ASCII text (JSON punctuation, keys, small values already serialised). */
  raw(text: string): this {
    this.reserve(text.length * 3);
    this.length += Buffer.from(this.buffer.buffer, this.buffer.byteOffset).write(text, this.length, 'utf8');
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
    let e = Math.floor(Math.log10(a));
    if (10 ** e > a) e--;
    else if (10 ** (e + 1) <= a) e++;
    // The shortest p: most activations need 7 to 9 digits, so start at 7 and walk down while it still
    // reads back, or up until it does (round-tripping is monotone in p; see float-format.ts).
    let p = 7;
    if (fits(a, e, p)) {
      while (p > 1 && fits(a, e, p - 1)) p--;
    } else {
      while (p < 9 && !fits(a, e, p)) p++;
    }
    const k = p - 1 - e; // decimals after the point; negative: trailing zeros before it
    if (p <= 9 && k >= -22 && k <= 22 && e < 21 && e >= -6 && fits(a, e, p)) {
      let m = k >= 0 ? Math.round(a * POW10[k]) : Math.round(a / POW10[-k]);
      let scale = k;
      while (scale > 0 && m % 10 === 0) {
        m /= 10;
        scale--;
      }
      let n = 0;
      do {
        this.digits[n++] = ZERO + (m % 10);
        m = Math.floor(m / 10);
      } while (m > 0);
      // As Number#toString lays out a decimal of n digits whose point sits after `point` of them.
      const point = n - scale;
      if (point <= 0) {
        buf[this.length++] = ZERO;
        buf[this.length++] = DOT;
        for (let z = 0; z < -point; z++) buf[this.length++] = ZERO;
        for (let d = n - 1; d >= 0; d--) buf[this.length++] = this.digits[d];
      } else {
        for (let d = n - 1; d >= 0; d--) {
          buf[this.length++] = this.digits[d];
          if (n - d === point && d > 0) buf[this.length++] = DOT;
        }
        for (let z = n; z < point; z++) buf[this.length++] = ZERO;
      }
      return;
    }
    // Rare: exponent notation (below 1e-6 or from 1e21) or exponents beyond the exact powers of ten.
    this.raw(float32Text(a));
  }

  /** A row-major tensor as nested arrays of `shape`. */
  nested(data: Float32Array, shape: readonly number[]): this {
    const write = (offset: number, axis: number): void => {
      this.reserve(1);
      this.buffer[this.length++] = OPEN;
      const stride = shape.slice(axis + 1).reduce((x, y) => x * y, 1);
      for (let i = 0; i < shape[axis]; i++) {
        if (i > 0) {
          this.reserve(1);
          this.buffer[this.length++] = COMMA;
        }
        if (axis === shape.length - 1) this.float32(data[offset + i]);
        else write(offset + i * stride, axis + 1);
      }
      this.reserve(1);
      this.buffer[this.length++] = CLOSE;
    };
    write(0, 0);
    return this;
  }

  /** A tensor as `{"shape":[...],"data":[...]}`. */
  flat(data: Float32Array, shape: readonly number[]): this {
    this.raw(`{"shape":${JSON.stringify(shape)},"data":[`);
    for (let i = 0; i < data.length; i++) {
      if (i > 0) {
        this.reserve(1);
        this.buffer[this.length++] = COMMA;
      }
      this.float32(data[i]);
    }
    return this.raw(']}');
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  toString(): string {
    return Buffer.from(this.buffer.buffer, this.buffer.byteOffset, this.length).toString('utf8');
  }
}
