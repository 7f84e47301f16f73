/**
 * The shape of one operator of the interpreter: read and check the node's attributes once at load time
 * (`prepare`), then per request work out the outputs' types and shapes from the inputs' (`infer`, no float data
 * touched), estimate the work (`cost`), and compute (`run`). `infer` is what lets a request's size be known and
 * checked against the limits before anything that scales with it is allocated.
 */
import type { OnnxNode } from './decode.js';
import { type Tensor, type TensorMeta, formatShape } from './tensor.js';

/**
 * Inputs and outputs do not fit together (found while planning, or values found while running): at load a
 * start-up error, per request a 400. `input` is the node input at fault, when it is one (so that a request's
 * tensor can be named when it feeds the node directly).
 */
export class ShapeError extends Error {
  constructor(
    message: string,
    readonly input: number | null = null,
  ) {
    super(message);
  }
}

export function mismatch(message: string, input: number | null = null): never {
  throw new ShapeError(message, input);
}

export interface Operator<S> {
  /** How many inputs (optional ones may be '') and outputs the node may name. */
  readonly inputs: readonly [min: number, max: number];
  readonly outputs: readonly [min: number, max: number];
  /** Reads and checks the attributes; throws an OnnxModelError naming the node. */
  prepare(node: OnnxNode): S;
  /** Output metas from input metas (null for an absent optional input); throws ShapeError. */
  infer(settings: S, inputs: readonly (TensorMeta | null)[]): TensorMeta[];
  /** Multiply-adds (or element operations) the node costs; by default, the elements it writes. */
  cost?(settings: S, inputs: readonly (TensorMeta | null)[], outputs: readonly TensorMeta[]): number;
  /**
   * Bytes `run` allocates besides its outputs and frees when it returns (the recurrent nodes' engine work); by
   * default none.
   */
  workBytes?(settings: S, inputs: readonly (TensorMeta | null)[]): number;
  run(settings: S, inputs: readonly (Tensor | null)[], outputs: readonly TensorMeta[]): Tensor[];
}

/** The meta of input `i`, which must be present. */
export function required(inputs: readonly (TensorMeta | null)[], i: number, name: string): TensorMeta {
  const meta = inputs[i];
  if (meta == null) return mismatch(`input ${i} (${name}) is required`);
  return meta;
}

/** The values of input `i` when they are known while planning (constants and shape arithmetic). */
export function knownInts(inputs: readonly (TensorMeta | null)[], i: number, name: string): number[] {
  const meta = required(inputs, i, name);
  if (meta.type !== 'int') return mismatch(`input ${i} (${name}) is float; expected integers`);
  if (meta.known === undefined)
    return mismatch(
      `input ${i} (${name}) must be computable from shapes and constants; here it depends on request data`,
    );
  return Array.from(meta.known.data);
}

/** `axis` in [-rank, rank) → [0, rank). */
export function normaliseAxis(axis: number, rank: number, what = 'axis'): number {
  if (axis < -rank || axis >= rank) return mismatch(`${what} ${axis} is outside [${-rank}, ${rank}) for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

export function sameType(a: TensorMeta, b: TensorMeta, what: string): void {
  if (a.type !== b.type) mismatch(`${what}: inputs are ${a.type} and ${b.type}; expected one type`);
}

export function rankIs(meta: TensorMeta, rank: number, what: string): void {
  if (meta.shape.length !== rank) mismatch(`${what} has shape ${formatShape(meta.shape)}; expected ${rank} dimensions`);
}
