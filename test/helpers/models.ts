/**
 * Model repositories for tests: a temporary MODELS_DIR holding the given `NAME/VERSION/model.json` files
 * (objects are written as JSON, strings as they are), removed when the test ends.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function modelsDir(t: { teardown(fn: () => unknown): void }, files: Record<string, object | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-models-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

/** The `helo` one-hot of a word, as the lecture encodes it. */
export const oneHotHelo = (word: string): number[][] => [...word].map((c) => [...'helo'].map((x) => (x === c ? 1 : 0)));
