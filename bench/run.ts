/**
 * `npm run bench`: runs every benchmark script in its own process (a fresh JIT and heap each, so one
 * cannot warm up or fragment the other), one after the other. Compiled by tsc first (`tsconfig.bench.json`,
 * to `dist/bench/`), not run through tsx: tsx's esbuild drops the engine's "use asm" directive, and the
 * kernels would run as ordinary JavaScript (src/engine/asm-kernels.ts).
 *
 *   npm run bench                      all of them
 *   npm run bench -- engine            only the named ones (file name without .ts)
 *   npm run bench -- engine --quick    options (--...) are passed on to every script
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Every benchmark script, in the order they run. */
const SCRIPTS = ['engine', 'pool-threshold', 'http', 'serving', 'sequence-store', 'streams', 'model-load', 'tracing'];

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !SCRIPTS.includes(n));
if (unknown.length > 0)
  throw new Error(`unknown benchmark ${unknown.join(', ')}; expected some of ${SCRIPTS.join(', ')}`);
const options = args.filter((a) => a.startsWith('--'));

let failed = false;
for (const script of names.length > 0 ? names : SCRIPTS) {
  const path = fileURLToPath(new URL(`${script}.js`, import.meta.url));
  const { status } = spawnSync(process.execPath, [path, ...options], { stdio: 'inherit' });
  if (status !== 0) {
    process.stderr.write(`bench: ${script} exited with ${status}\n`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
