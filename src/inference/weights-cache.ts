/**
 * A small LRU of seeded weight sets: building an orthogonal recurrent kernel is a QR factorisation, which
 * for a large hidden size costs more than the forward pass it serves. Seeded weights never change, so a
 * cached set is exactly the set that would be built again.
 */
import { cellOf, gateCount, type NetworkSpec, type NetworkWeights, seededNetworkWeights } from '../engine/index.js';

/**
 * Only what seeded weights depend on: seed, input size, layer sizes and the directions and merge (which
 * set each layer's input size), and each layer's cell with what shapes its bias (resetAfter; an LSTM's forget
 * bias: unitForgetBias and useBias). Activations and clip do not change them.
 */
export function seededWeightsKey(seed: number, spec: NetworkSpec, inputDim: number): string {
  let key = `${seed} ${inputDim} ${spec.bidirectional === null ? 'none' : spec.bidirectional.mergeMode}`;
  for (const layer of spec.layers) {
    key += ` ${layer.hiddenSize}`;
    if (layer.cell === 'lstm') key += `:lstm:${layer.unitForgetBias ?? true}:${layer.useBias}`;
    else if (layer.cell === 'gru') key += `:gru:${layer.resetAfter ?? true}`;
  }
  return key;
}

/**
 * Rough multiply-adds to build a network's seeded weights: the orthogonal recurrent kernel's float32
 * Householder QR dominates, ~6·h³ per layer and direction as measured against the forward pass, and G times
 * that for a gated cell's [h, G·h] kernel (G gates: 4 LSTM, 3 GRU).
 */
export function seededWeightsCost(spec: NetworkSpec): number {
  const directions = spec.bidirectional === null ? 1 : 2;
  return spec.layers.reduce((sum, layer) => sum + directions * 6 * gateCount(cellOf(layer)) * layer.hiddenSize ** 3, 0);
}

export class SeededWeightsCache {
  /**
   * Each set with the tick of its last use: a hit only updates a number (re-inserting into the Map on every hit, the
   * usual LRU, showed in every small request's profile).
   */
  private readonly entries = new Map<string, { weights: NetworkWeights; used: number }>();
  private tick = 0;
  constructor(private readonly capacity: number) {}

  /** Whether this set is built already (a `get` would cost nothing). */
  has(seed: number, spec: NetworkSpec, inputDim: number): boolean {
    return this.hasKey(seededWeightsKey(seed, spec, inputDim));
  }

  /** `has` by the set's key (seededWeightsKey), for callers that keep it. */
  hasKey(key: string): boolean {
    return this.entries.has(key);
  }

  get(seed: number, spec: NetworkSpec, inputDim: number): NetworkWeights {
    return this.getKeyed(seededWeightsKey(seed, spec, inputDim), seed, spec, inputDim);
  }

  /** `get` by the set's key (seededWeightsKey(seed, spec, inputDim)), for callers that keep it. */
  getKeyed(key: string, seed: number, spec: NetworkSpec, inputDim: number): NetworkWeights {
    const hit = this.hit(key);
    if (hit !== null) return hit;
    const weights = seededNetworkWeights(seed, spec, inputDim);
    if (this.capacity > 0) {
      if (this.entries.size >= this.capacity) this.evictLeastRecentlyUsed();
      this.entries.set(key, { weights, used: ++this.tick });
    }
    return weights;
  }

  private hit(key: string): NetworkWeights | null {
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    entry.used = ++this.tick;
    return entry.weights;
  }

  /** Only when a new set is built (a QR factorisation), so a scan of at most `capacity` entries is nothing. */
  private evictLeastRecentlyUsed(): void {
    let oldest: string | null = null;
    let used = Infinity;
    for (const [key, entry] of this.entries) {
      if (entry.used < used) {
        used = entry.used;
        oldest = key;
      }
    }
    if (oldest !== null) this.entries.delete(oldest);
  }

  get size(): number {
    return this.entries.size;
  }
}
