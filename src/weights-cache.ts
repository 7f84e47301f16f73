/**
 * A small LRU of seeded weight sets: building an orthogonal recurrent kernel is a QR factorisation, which
 * for a large hidden size costs more than the forward pass it serves. Seeded weights never change, so a
 * cached set is exactly the set that would be built again.
 */
import { seededWeights, type SimpleRnnWeights } from './engine/index.js';

export class SeededWeightsCache {
  private readonly entries = new Map<string, SimpleRnnWeights>();
  constructor(private readonly capacity: number) {}

  get(seed: number, inputDim: number, hiddenSize: number): SimpleRnnWeights {
    const key = `${seed}:${inputDim}:${hiddenSize}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const weights = seededWeights(seed, inputDim, hiddenSize);
    if (this.capacity > 0) {
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, weights);
    }
    return weights;
  }

  get size(): number {
    return this.entries.size;
  }
}
