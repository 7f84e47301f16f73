export * from './simple-rnn.js';
export * from './reference.js';
export * from './seeded.js';
export { glorotUniform, orthogonal } from './initializers.js';
