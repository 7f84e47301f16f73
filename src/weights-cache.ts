/**
 * A small LRU of seeded weight sets: building an orthogonal recurrent kernel is a QR factorisation, which
 * for a large hidden size costs more than the forward pass it serves. Seeded weights never change, so a
 * cached set is exactly the set that would be built again.
 */
import { type NetworkSpec, type NetworkWeights, seededNetworkWeights } from './engine/index.js';

export class SeededWeightsCache {
  private readonly entries = new Map<string, NetworkWeights>();
  constructor(private readonly capacity: number) {}

  get(seed: number, spec: NetworkSpec, inputDim: number): NetworkWeights {
    // Only what the weights depend on: seed, input size, layer sizes and the directions/merge (which set
    // each layer's input size). Activation, bias use, clip do not change seeded weights.
    const key = JSON.stringify([seed, inputDim, spec.layers.map((l) => l.hiddenSize), spec.bidirectional === null ? 'none' : spec.bidirectional.mergeMode]);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const weights = seededNetworkWeights(seed, spec, inputDim);
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
