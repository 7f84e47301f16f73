/**
 * Nested JSON arrays ⇄ flat float32 tensors. Reading checks that a nested batch is rectangular and that
 * every number fits float32, and names the first offending indices; writing gives each float32 its
 * shortest decimal that reads back to the same float32 (what Keras and NumPy print).
 */
import type { ProblemDetail } from '../schemas/problem.js';

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
  if (x === 0 || !Number.isFinite(x)) return x;
  // Round-tripping is monotone in the digit count (a p-digit rounding that reads back implies p+1 does),
  // and 9 digits always read back: so start at 7, walk down while it still holds, or up until it does.
  let p = 7;
  if (Math.fround(Number(x.toPrecision(p))) === x) {
    while (p > 1 && Math.fround(Number(x.toPrecision(p - 1))) === x) p--;
  } else {
    while (p < 9 && Math.fround(Number(x.toPrecision(p))) !== x) p++;
  }
  return Number(x.toPrecision(p));
}

/** `[rows, cols]` flat float32 → nested arrays of shortest decimals. */
export function toNested2(data: Float32Array, rows: number, cols: number): number[][] {
  const out = new Array<number[]>(rows);
  for (let r = 0; r < rows; r++) {
    const row = new Array<number>(cols);
    for (let c = 0; c < cols; c++) row[c] = shortestFloat32(data[r * cols + c]);
    out[r] = row;
  }
  return out;
}

/** `[a, b, c]` flat float32 → nested arrays of shortest decimals. */
export function toNested3(data: Float32Array, a: number, b: number, c: number): number[][][] {
  const out = new Array<number[][]>(a);
  for (let i = 0; i < a; i++) out[i] = toNested2(data.subarray(i * b * c, (i + 1) * b * c), b, c);
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
