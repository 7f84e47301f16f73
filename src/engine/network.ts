/**
 * Stacks and bidirectional wrappers of recurrent layers (SimpleRNN, LSTM or GRU per layer: cells.ts), Keras
 * semantics.
 *
 * - Layer k feeds its full output sequence to layer k + 1; the mask goes with it (Keras propagates the
 *   mask through recurrent layers that return sequences).
 * - Bidirectional (Keras `Bidirectional`): the backward copy of a layer processes the sequence reversed
 *   (`goBackwards`), its outputs are flipped back to input order, then merged with the forward outputs:
 *   concat (features of forward then backward), sum, mul, ave, or null (both returned, forward first).
 *   With `returnSequences: false` each direction's last processed output is merged (for the backward
 *   direction that is the output for input step 0), as Keras does.
 * - States: one [batch, hiddenSize] per layer and direction, ordered layer by layer, forward before
 *   backward (PyTorch's h_n order). Initial states use the same order. LSTM layers also have a cell state
 *   c per layer and direction, in a list of the same order (PyTorch's c_n), null for the other cells.
 * - A stack may mix plain and bidirectional layers, each with its own merge mode (`layerBidirectional`, as
 *   imported Keras models have them); mergeMode null is then only possible on the last layer, as always.
 */
import type { ActivationName } from './activations.js';
import { float32Array } from './arrays.js';
import { cellForward } from './cell-forward.js';
import { type CellSpec, cellOf, gateCount } from './cells.js';
import type { Shape3, SimpleRnnWeights } from './simple-rnn.js';

export const MERGE_MODES = ['concat', 'sum', 'mul', 'ave'] as const;
export type MergeMode = (typeof MERGE_MODES)[number] | null;

export interface LayerSpec extends CellSpec {
  readonly hiddenSize: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly goBackwards: boolean;
  readonly clip: number | null;
}

export interface Bidirectional {
  readonly mergeMode: MergeMode;
}

export interface NetworkSpec {
  readonly layers: readonly LayerSpec[];
  /** Every layer's wrapping; null: every layer is unidirectional. Ignored when `layerBidirectional` is given. */
  readonly bidirectional: Bidirectional | null;
  /**
   * Each layer's own wrapping (null: unidirectional), for a stack that mixes them; absent when every layer is
   * wrapped as `bidirectional` says (every model described by a request).
   */
  readonly layerBidirectional?: readonly (Bidirectional | null)[];
}

/**
 * Weights per layer and direction: `[k][0]` forward, `[k][1]` backward (bidirectional only). For LSTM and GRU
 * layers the kernels are [inputDim, G·h] and [h, G·h] (cells.ts RecurrentWeights, the same interface).
 */
export type NetworkWeights = readonly (readonly SimpleRnnWeights[])[];

export interface NetworkOptions {
  /** One [batch, hiddenSize] per layer and direction, in state order; null for zeros. */
  readonly initialStates?: readonly Float32Array[] | null;
  /** LSTM layers' c_0, indexed as initialStates (entries of other layers are ignored); null for zeros. */
  readonly initialCellStates?: readonly (Float32Array | null)[] | null;
  /** [batch, time], 1 = valid; null when every step is valid. */
  readonly mask?: Uint8Array | null;
  readonly zeroOutputForMask?: boolean;
  /** false: only the last output of each sequence (default true). */
  readonly returnSequences?: boolean;
}

export interface NetworkResult {
  /** Row-major outputs of the last layer, with `outputShape`. */
  readonly outputs: Float32Array;
  /** [batch, time, features], [batch, features], or with mergeMode null [2, batch, (time,) hiddenSize]. */
  readonly outputShape: readonly number[];
  /** One [batch, hiddenSize] per layer and direction, in state order. */
  readonly states: readonly Float32Array[];
  /** LSTM layers' final c, indexed as `states`; null for the layers of other cells. */
  readonly cellStates: readonly (Float32Array | null)[];
}

/** Directions of a spec whose layers are all wrapped alike (no `layerBidirectional`); else see layerDirections. */
export function directionsOf(spec: NetworkSpec): 1 | 2 {
  return spec.bidirectional === null ? 1 : 2;
}

/** How layer `layer` is wrapped: its own entry of `layerBidirectional` if given, else the network's. */
export function bidirectionalOf(spec: NetworkSpec, layer: number): Bidirectional | null {
  return spec.layerBidirectional === undefined ? spec.bidirectional : spec.layerBidirectional[layer];
}

export function layerDirections(spec: NetworkSpec, layer: number): 1 | 2 {
  return bidirectionalOf(spec, layer) === null ? 1 : 2;
}

const stateLayersOf = new WeakMap<NetworkSpec, readonly number[]>();

/**
 * The layer of each state, in state order (layer by layer, forward before backward). Made once per spec (served and
 * remembered models keep theirs): a request asks for it several times, and `flatMap` costs ~0.6 µs a call on Node 20.
 */
export function stateLayers(spec: NetworkSpec): readonly number[] {
  let layers = stateLayersOf.get(spec);
  if (layers === undefined) {
    const made: number[] = [];
    for (let k = 0; k < spec.layers.length; k++) {
      made.push(k);
      if (layerDirections(spec, k) === 2) made.push(k);
    }
    layers = made;
    stateLayersOf.set(spec, layers);
  }
  return layers;
}

/** Whether the last layer is bidirectional with mergeMode null: outputs are then [2, ...], forward first. */
export function returnsBothDirections(spec: NetworkSpec): boolean {
  return bidirectionalOf(spec, spec.layers.length - 1)?.mergeMode === null;
}

/** Features a layer's merged output has: what the next layer (or the client) receives. */
export function outputFeatures(spec: NetworkSpec, layer: number): number {
  const h = spec.layers[layer].hiddenSize;
  return bidirectionalOf(spec, layer)?.mergeMode === 'concat' ? 2 * h : h;
}

/**
 * Multiply-adds of one forward pass: Σ over layers and directions of batch·time·(in + h)·G·h, G the cell's
 * gate count (cells.ts).
 */
export function computeCost(spec: NetworkSpec, shape: Shape3): number {
  const [batch, time, features] = shape;
  let inputDim = features;
  let cost = 0;
  spec.layers.forEach((layer, k) => {
    const gates = gateCount(cellOf(layer));
    cost += layerDirections(spec, k) * batch * time * (inputDim + layer.hiddenSize) * gates * layer.hiddenSize;
    inputDim = outputFeatures(spec, k);
  });
  return cost;
}

/** [batch, time, h] → the same with the time axis reversed. */
function reverseTime(data: Float32Array, batch: number, time: number, h: number): Float32Array {
  const out = float32Array(data.length);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < time; t++) {
      const from = (b * time + t) * h;
      out.set(data.subarray(from, from + h), (b * time + (time - 1 - t)) * h);
    }
  }
  return out;
}

/** [batch, time, h] → [batch, h]: the output at the last processing position. */
function lastStep(data: Float32Array, batch: number, time: number, h: number): Float32Array {
  const out = float32Array(batch * h);
  for (let b = 0; b < batch; b++) {
    const from = (b * time + time - 1) * h;
    out.set(data.subarray(from, from + h), b * h);
  }
  return out;
}

/** Merges forward and backward outputs of `rows` rows of `h` features each. */
function merge(
  mode: Exclude<MergeMode, null>,
  forward: Float32Array,
  backward: Float32Array,
  rows: number,
  h: number,
): Float32Array {
  if (mode === 'concat') {
    const out = float32Array(rows * 2 * h);
    for (let r = 0; r < rows; r++) {
      out.set(forward.subarray(r * h, (r + 1) * h), r * 2 * h);
      out.set(backward.subarray(r * h, (r + 1) * h), r * 2 * h + h);
    }
    return out;
  }
  const out = float32Array(rows * h);
  for (let i = 0; i < out.length; i++) {
    const a = forward[i];
    const b = backward[i];
    out[i] = mode === 'sum' ? a + b : mode === 'mul' ? a * b : (a + b) / 2;
  }
  return out;
}

export function runNetwork(
  inputs: Float32Array,
  shape: Shape3,
  spec: NetworkSpec,
  weights: NetworkWeights,
  options: NetworkOptions = {},
): NetworkResult {
  const [batch, time] = shape;
  const returnSequences = options.returnSequences ?? true;
  if (weights.length !== spec.layers.length)
    throw new RangeError(`weights for ${weights.length} layers; expected ${spec.layers.length}`);
  const states: Float32Array[] = [];
  const cellStates: (Float32Array | null)[] = [];
  let x = inputs;
  let inputDim = shape[2];
  let result: NetworkResult | null = null;
  /** The index of this layer's first state in state order. */
  let firstState = 0;

  spec.layers.forEach((layer, k) => {
    const last = k === spec.layers.length - 1;
    const h = layer.hiddenSize;
    const wrapping = bidirectionalOf(spec, k);
    const directions = wrapping === null ? 1 : 2;
    const runs = weights[k].map((layerWeights, d) => {
      if (layerWeights.hiddenSize !== h)
        throw new RangeError(`layer ${k} weights have ${layerWeights.hiddenSize} units; expected ${h}`);
      const run = cellForward(layer, x, [batch, time, inputDim], layerWeights, {
        activation: layer.activation,
        clip: layer.clip,
        goBackwards: d === 1 ? !layer.goBackwards : layer.goBackwards,
        initialState: options.initialStates?.[firstState + d] ?? null,
        initialCellState: options.initialCellStates?.[firstState + d] ?? null,
        mask: options.mask ?? null,
        zeroOutputForMask: options.zeroOutputForMask ?? false,
      });
      states.push(run.states);
      cellStates.push(run.cellStates);
      return run.outputs;
    });
    if (runs.length !== directions)
      throw new RangeError(`layer ${k} has weights for ${runs.length} directions; expected ${directions}`);
    firstState += directions;

    if (!last || returnSequences) {
      // Full sequences in input order (the backward run flipped back) feed the next layer or the client.
      const forward = runs[0];
      if (directions === 1) {
        x = forward;
        inputDim = h;
        if (last) result = { outputs: forward, outputShape: [batch, time, h], states, cellStates };
        return;
      }
      const backward = reverseTime(runs[1], batch, time, h);
      const mode = (wrapping as Bidirectional).mergeMode;
      if (mode === null) {
        if (!last) throw new RangeError('mergeMode null is only possible on the last layer');
        const both = float32Array(2 * forward.length);
        both.set(forward, 0);
        both.set(backward, forward.length);
        result = { outputs: both, outputShape: [2, batch, time, h], states, cellStates };
        return;
      }
      x = merge(mode, forward, backward, batch * time, h);
      inputDim = outputFeatures(spec, k);
      if (last) result = { outputs: x, outputShape: [batch, time, inputDim], states, cellStates };
      return;
    }

    // The last layer without sequences: each direction's last processed output, then merged.
    const lasts = runs.map((run) => lastStep(run, batch, time, h));
    if (directions === 1) {
      result = { outputs: lasts[0], outputShape: [batch, h], states, cellStates };
      return;
    }
    const mode = (wrapping as Bidirectional).mergeMode;
    if (mode === null) {
      const both = float32Array(2 * batch * h);
      both.set(lasts[0], 0);
      both.set(lasts[1], batch * h);
      result = { outputs: both, outputShape: [2, batch, h], states, cellStates };
      return;
    }
    const merged = merge(mode, lasts[0], lasts[1], batch, h);
    result = { outputs: merged, outputShape: [batch, outputFeatures(spec, k)], states, cellStates };
  });
  if (result === null) throw new RangeError('a network needs at least one layer');
  return result;
}
