/**
 * Nested JSON arrays ⇄ flat float32 tensors. Reading checks that a nested batch is rectangular and that
 * every number fits float32, and names the first offending indices; writing gives each float32 its
 * shortest decimal that reads back to the same float32 (what Keras and NumPy print).
 */
import type { ProblemDetail } from '../../schemas/problem.js';
import { MAX_REPORTED_ERRORS, ProblemError } from '../errors/problem-error.js';
import { float32Text } from './float-format.js';

/** The largest finite float32. A JSON number above it (in magnitude) would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Problems found while reading tensors: the first MAX_REPORTED_ERRORS listed, every one counted (one body can
 * hold millions; past the list, a reader counts without writing the message: see `listing`).
 */
export class ProblemList {
  readonly items: ProblemDetail[] = [];
  /** Every problem found, listed or not. */
  found = 0;
  add(path: string, message: string): void {
    this.found++;
    if (this.items.length < MAX_REPORTED_ERRORS) this.items.push({ path, message });
  }
  /**
   * Whether the next problem is still listed. When not, a reader calls `add` anyway only if its message is
   * cheap; else it counts the problem with `countUnlisted`, so millions of them build no strings.
   */
  get listing(): boolean {
    return this.items.length < MAX_REPORTED_ERRORS;
  }
  countUnlisted(): void {
    this.found++;
  }
  get empty(): boolean {
    return this.found === 0;
  }
  /** The 400 for what was found: the first problems listed, all of them counted (`errorCount`). */
  error(): ProblemError {
    return ProblemError.at('invalid-request', this.items, this.found);
  }
}

/** `count(1, 'row')` → `1 row`; `count(3, 'row')` → `3 rows`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Why a JSON number cannot be read as float32: it would become ±Infinity. */
export function outOfFloat32(value: number): string {
  return `${value} is outside the float32 range (±${FLOAT32_MAX})`;
}

/**
 * Stores `values` at `out[offset...]` as float32 and reports each that float32 cannot hold (stored as 0);
 * `path(i)` names value i. The check is on the stored value, so the loop allocates nothing per number (nor per
 * problem past the listed ones).
 */
export function storeFloat32(
  values: readonly number[],
  out: Float32Array,
  offset: number,
  path: (i: number) => string,
  problems: ProblemList,
): void {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    out[offset + i] = values[i];
    const f = out[offset + i];
    if (f === Infinity || f === -Infinity) {
      if (problems.listing) problems.add(path(i), outOfFloat32(values[i]));
      else problems.countUnlisted();
      out[offset + i] = 0;
    }
  }
}

/** Copies a vector `[n]` into a Float32Array (length already checked). */
export function readVector(values: readonly number[], name: string, problems: ProblemList): Float32Array {
  const out = new Float32Array(values.length);
  storeFloat32(values, out, 0, (i) => `${name}[${i}]`, problems);
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
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row.length !== cols) {
      if (problems.listing)
        problems.add(`${name}[${r}]`, `has ${count(row.length, 'entry', 'entries')}; expected ${cols} (${expected})`);
      else problems.countUnlisted();
      continue;
    }
    storeFloat32(row, out, r * cols, (c) => `${name}[${r}][${c}]`, problems);
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
