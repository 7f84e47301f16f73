/** Deterministic test data: a small seeded PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nested array of the given shape, uniform in [-scale, scale], each value a float32. */
export function randomNested(random: () => number, shape: readonly number[], scale = 1): any {
  if (shape.length === 0) return Math.fround((random() * 2 - 1) * scale);
  return Array.from({ length: shape[0] }, () => randomNested(random, shape.slice(1), scale));
}

export function flat(nested: unknown): Float32Array {
  const out: number[] = [];
  const walk = (v: unknown) => (Array.isArray(v) ? v.forEach(walk) : out.push(v as number));
  walk(nested);
  return Float32Array.from(out);
}

/** Flat row-major data → nested arrays of the given shape. */
export function nest(data: ArrayLike<number>, shape: readonly number[]): any {
  const build = (offset: number, dims: readonly number[]): any => {
    if (dims.length === 0) return data[offset];
    const stride = dims.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[0] }, (_, i) => build(offset + i * stride, dims.slice(1)));
  };
  return build(0, shape);
}
