export * from './forward.js';
export * from './problem.js';
