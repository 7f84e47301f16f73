/**
 * The memory a forward pass allocates, from its shapes alone, for admission against a byte budget before the
 * pass starts (src/inference/memory-estimate.ts). Each term is an upper bound of what runNetwork (network.ts)
 * and the cells' fast paths (simple-rnn.ts, lstm.ts, gru.ts) allocate; test/engine/work-memory.test.ts holds the
 * kernel-heap terms to the heaps the passes really take.
 */
import { heapBytesFor } from './asm-kernels.js';
import { type CellSpec, cellOf, DEFAULT_RESET_AFTER } from './cells.js';
import { layerDirections, type NetworkSpec, outputFeatures } from './network.js';
import type { Shape3 } from './simple-rnn.js';

/** What one layer and direction takes besides its output sequence, in bytes. */
export interface CellWork {
  /** The [W; U] panels, float64, cached with the weights while they live (gate-panels.ts, simple-rnn.ts). */
  readonly panelBytes: number;
  /** The bytes of asm.js heap the pass asks for: the panels again, the gates' accumulators and the packed rows. */
  readonly heapRequestBytes: number;
  /** The heap it gets: heapRequestBytes rounded up to a power of two. */
  readonly heapBytes: number;
  /** The float32 state arrays: h, plus c (LSTM) or r ⊙ h (GRU, resetAfter false). */
  readonly stateBytes: number;
}

/** One layer direction's panels, heap and states, as the cells lay them out (see each cell's heap comment). */
export function cellWork(spec: CellSpec, inputDim: number, h: number, batch: number): CellWork {
  const depth = inputDim + h;
  const cell = cellOf(spec);
  let panels: number;
  let scratch: number;
  let states = batch * h;
  if (cell === 'simpleRNN') {
    panels = depth * h;
    scratch = batch * h + batch * depth;
  } else if (cell === 'lstm') {
    panels = depth * 4 * h;
    scratch = 4 * batch * h + batch * depth;
    states += batch * h;
  } else if (spec.resetAfter ?? DEFAULT_RESET_AFTER) {
    panels = depth * 3 * h;
    scratch = 6 * batch * h + batch * inputDim + batch * h;
  } else {
    panels = depth * 3 * h;
    scratch = 3 * batch * h + 2 * batch * depth;
    states += batch * h;
  }
  const heapRequestBytes = (panels + scratch) * 8;
  return {
    panelBytes: panels * 8,
    heapRequestBytes,
    heapBytes: heapBytesFor(heapRequestBytes),
    stateBytes: states * 4,
  };
}

/**
 * Bytes a pass holds at its peak, beyond its input: every layer's output sequences (each direction's, and a
 * bidirectional layer's time-reversed copy and merge), the states, every panel cache unless the weights'
 * panels are already resident (`panelsResident`: a served model's, made by its first pass and kept with it),
 * and the largest kernel heap (one heap per thread, reused layer after layer).
 */
export function passWorkBytes(spec: NetworkSpec, shape: Shape3, panelsResident: boolean): number {
  const [batch, time, features] = shape;
  let inputDim = features;
  let bytes = 0;
  let largestHeap = 0;
  spec.layers.forEach((layer, k) => {
    const directions = layerDirections(spec, k);
    const sequence = batch * time * layer.hiddenSize * 4;
    bytes += directions * sequence;
    // The backward run flipped back to input order, and the merge (concat and mergeMode null: twice h).
    if (directions === 2) bytes += 3 * sequence;
    const work = cellWork(layer, inputDim, layer.hiddenSize, batch);
    bytes += directions * (work.stateBytes + (panelsResident ? 0 : work.panelBytes));
    largestHeap = Math.max(largestHeap, work.heapBytes);
    inputDim = outputFeatures(spec, k);
  });
  return bytes + largestHeap;
}
