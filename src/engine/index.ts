export * from './activations.js';
export * from './simple-rnn.js';
export * from './network.js';
export * from './seeded.js';
export * from './layouts.js';
export * from './dense.js';
export { float32Array, float64Array, int32Array, uint8Array } from './arrays.js';
export { glorotUniform, orthogonal } from './initializers.js';
