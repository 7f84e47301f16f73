/**
 * Classification answers: the top K output features of each output row, largest first, with the class labels
 * of a served model when it has them. The same ranking feeds `classes` on our forward routes (`topK`) and the
 * Open Inference Protocol's classification extension (`"score:index:label"` strings, src/protocols/oip-answer.ts).
 */
import { float32Text } from '../codec/float-format.js';
import type { JsonWriter } from '../codec/json-writer.js';

/** What a plan ranks: K, and the labels of the model's output features (null: none). */
export interface ClassesPlan {
  readonly k: number;
  readonly labels: readonly string[] | null;
}

/**
 * Each class entry is counted as this many values of the answer against MAX_OUTPUT_VALUES: its JSON
 * (`{"score":0.123456789,"index":12,"label":"..."}`) is about as long as four float32 values.
 */
export const CLASS_ENTRY_VALUES = 4;

/** The top K of each row: `indices` and `scores`, [rows, k] each, largest score first. */
export interface TopClasses {
  readonly rows: number;
  readonly k: number;
  readonly indices: Int32Array;
  readonly scores: Float32Array;
}

/**
 * data [rows, features] → the K largest features of each row. Ties keep the lower index first (the order a stable
 * sort by descending score gives), so an answer never depends on how the ranking is computed. O(rows·features·K):
 * K is at most the features, and a row is kept in a sorted list of K by insertion.
 */
export function topClasses(data: Float32Array, rows: number, features: number, k: number): TopClasses {
  if (data.length !== rows * features)
    throw new RangeError(`topClasses: ${data.length} values for ${rows}·${features}`);
  if (!(k >= 1 && k <= features)) throw new RangeError(`topClasses: k ${k} for ${features} features`);
  const indices = new Int32Array(rows * k);
  const scores = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    let kept = 0;
    for (let j = 0; j < features; j++) {
      const x = data[r * features + j];
      // Where x goes among the kept (strictly greater first: an equal score stays after the earlier index).
      let at = kept;
      while (at > 0 && scores[o + at - 1] < x) at--;
      if (at >= k) continue;
      for (let m = Math.min(kept, k - 1); m > at; m--) {
        scores[o + m] = scores[o + m - 1];
        indices[o + m] = indices[o + m - 1];
      }
      scores[o + at] = x;
      indices[o + at] = j;
      if (kept < k) kept++;
    }
  }
  return { rows, k, indices, scores };
}

/**
 * The naive ranking `topClasses` restates: a stable sort of each row's indices by descending score, cut at K.
 * Held equal by test/inference/classes.test.ts.
 */
export function topClassesReference(data: Float32Array, rows: number, features: number, k: number): TopClasses {
  const indices = new Int32Array(rows * k);
  const scores = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: features }, (_, j) => j);
    row.sort((a, b) => data[r * features + b] - data[r * features + a] || a - b);
    for (let m = 0; m < k; m++) {
      indices[r * k + m] = row[m];
      scores[r * k + m] = data[r * features + row[m]];
    }
  }
  return { rows, k, indices, scores };
}

/**
 * `classes` as JSON: `lead` the dimensions of the rows ([batch, time] or [batch]), each row a list of
 * `{"score", "index", "label"}` objects (`label` only with labels).
 */
export function writeClasses(
  writer: JsonWriter,
  top: TopClasses,
  lead: readonly number[],
  labels: readonly string[] | null,
): void {
  // Rows per innermost list: the time steps of a sequence, or every row for [batch].
  const inner = lead.length === 2 ? lead[1] : top.rows;
  writer.raw(lead.length === 2 ? '[[' : '[');
  for (let r = 0; r < top.rows; r++) {
    if (r > 0) writer.raw(r % inner === 0 ? '],[' : ',');
    writer.raw('[');
    for (let m = 0; m < top.k; m++) {
      const i = top.indices[r * top.k + m];
      writer.raw(m === 0 ? '{"score":' : ',{"score":');
      writer.float32(top.scores[r * top.k + m]);
      writer.raw(`,"index":${i}`);
      // Only the labels an answer names are quoted: a classifier may have thousands.
      if (labels !== null) writer.raw(`,"label":${JSON.stringify(labels[i])}`);
      writer.raw('}');
    }
    writer.raw(']');
  }
  writer.raw(lead.length === 2 ? ']]' : ']');
}

/** One class as the classification extension writes it: `score:index:label`, or `score:index` without labels. */
export function classText(top: TopClasses, at: number, labels: readonly string[] | null): string {
  const i = top.indices[at];
  const base = `${float32Text(top.scores[at])}:${i}`;
  return labels === null ? base : `${base}:${labels[i]}`;
}
