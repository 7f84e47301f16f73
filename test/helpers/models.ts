/**
 * Model repositories for tests: a temporary MODELS_DIR holding the given `NAME/VERSION/model.json` files
 * (objects are written as JSON, strings as they are), removed when the test ends.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The TF.js Layers fixture saved by tfjs itself (scripts/make-tfjs-fixture.ts): model.json and one shard. */
export const TFJS_FIXTURE = fileURLToPath(new URL('../fixtures/tfjs-model/', import.meta.url));
const TFJS_MODEL_JSON = JSON.parse(readFileSync(join(TFJS_FIXTURE, 'model.json'), 'utf8'));

/**
 * Copies the TF.js fixture into `dir` as `version` (`NAME/VERSION`), its model.json passed through
 * `change` (a copy: change it freely); returns the version directory.
 */
export function addTfjsModel(dir: string, version: string, change?: (json: any) => void): string {
  const target = join(dir, version);
  cpSync(TFJS_FIXTURE, target, { recursive: true });
  rmSync(join(target, 'expected.json'));
  if (change) {
    const json = structuredClone(TFJS_MODEL_JSON);
    change(json);
    writeFileSync(join(target, 'model.json'), JSON.stringify(json));
  }
  return target;
}
