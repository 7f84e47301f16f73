/**
 * Nested JSON arrays ⇄ flat float32 tensors. Reading checks that a nested batch is rectangular and that
 * every number fits float32, and names the first offending indices; writing gives each float32 its
 * shortest decimal that reads back to the same float32 (what Keras and NumPy print).
 */
import type { ProblemDetail } from '../schemas/problem.js';
import { float32Text } from './float-format.js';

/** The largest finite float32. A JSON number above it (in magnitude) would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Stops collecting after this many problems: one body can hold millions of bad values. */
const MAX_REPORTED = 20;

export class ProblemList {
  readonly items: ProblemDetail[] = [];
  add(path: string, message: string): void {
    if (this.items.length < MAX_REPORTED) this.items.push({ path, message });
  }
  get full(): boolean {
    return this.items.length >= MAX_REPORTED;
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
}

/** `count(1, 'row')` → `1 row`; `count(3, 'row')` → `3 rows`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Rounds to float32 and reports a number that float32 cannot hold (it would become ±Infinity). */
export function toFloat32(value: number, path: () => string, problems: ProblemList): number {
  const f = Math.fround(value);
  if (f === Infinity || f === -Infinity) {
    problems.add(path(), `${value} is outside the float32 range (±${FLOAT32_MAX})`);
    return 0;
  }
  return f;
}

/** Copies a vector `[n]` into a Float32Array (length already checked). */
export function readVector(values: readonly number[], name: string, problems: ProblemList): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat32(values[i], () => `${name}[${i}]`, problems);
  return out;
}

/**
 * Copies a matrix `[rows][cols]` into a row-major Float32Array, checking every row has `cols` entries.
 * `expected` says where `cols` comes from, for the message.
 */
export function readMatrix(
  rows: readonly (readonly number[])[],
  cols: number,
  name: string,
  expected: string,
  problems: ProblemList,
): Float32Array {
  const out = new Float32Array(rows.length * cols);
  for (let r = 0; r < rows.length && !problems.full; r++) {
    const row = rows[r];
    if (row.length !== cols) {
      problems.add(`${name}[${r}]`, `has ${count(row.length, 'entry', 'entries')}; expected ${cols} (${expected})`);
      continue;
    }
    for (let c = 0; c < cols; c++) out[r * cols + c] = toFloat32(row[c], () => `${name}[${r}][${c}]`, problems);
  }
  return out;
}

/** The shortest decimal that reads back (through Math.fround) as the same float32, as a JS number. */
export function shortestFloat32(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(float32Text(x));
}

/** Row-major data of `shape` → nested arrays of shortest float32 decimals. */
export function nested(data: Float32Array, shape: readonly number[]): unknown[] {
  if (shape.length === 1) {
    const out = new Array<number>(shape[0]);
    for (let i = 0; i < shape[0]; i++) out[i] = shortestFloat32(data[i]);
    return out;
  }
  const stride = data.length / shape[0];
  const out = new Array<unknown>(shape[0]);
  for (let i = 0; i < shape[0]; i++) out[i] = nested(data.subarray(i * stride, (i + 1) * stride), shape.slice(1));
  return out;
}

export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** A nested matrix of unknown shape: its width is that of row 0 and every row must match it. */
export function readRectangular(rows: readonly (readonly number[])[], name: string, problems: ProblemList): Matrix {
  const cols = rows.length === 0 ? 0 : rows[0].length;
  return { data: readMatrix(rows, cols, name, `the width of ${name}[0]`, problems), rows: rows.length, cols };
}
