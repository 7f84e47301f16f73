/**
 * The architecture's size rule: no file in src/ over 600 lines (a module that grows past it is split by what its
 * parts do, as docs/architecture.md describes).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const MAX_LINES = 600;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

t.test(`no file in src/ over ${MAX_LINES} lines`, async (t) => {
  const files = sources(SRC);
  t.ok(files.length > 100, `${files.length} files read`);
  const over = files
    .map((file) => ({ file: file.slice(SRC.length - 3), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES);
  t.same(over, []);
});
