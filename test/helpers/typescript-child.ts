/**
 * Node arguments for a child process that runs our TypeScript sources the way these tests do: through the
 * TypeScript compiler (tap's loader), not tsx. The difference matters for src/engine/asm-kernels.ts:
 * tsx's esbuild drops its "use asm" directive, and the kernels would run as ordinary JavaScript.
 */
export const TYPESCRIPT_CHILD_ARGS: readonly string[] = process.execArgv.filter((arg) =>
  arg.includes('@tapjs/typescript'),
);
