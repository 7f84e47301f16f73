/**
 * The ONNX fixtures (scripts/make-onnx-fixtures.py: torch.onnx.export with torch's own outputs, or one-node graphs
 * with a NumPy reading of the ONNX definition), served from a temporary repository, and onnxruntime-node run on the
 * same files.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

export const ONNX_FIXTURES = fileURLToPath(new URL('../fixtures/onnx/', import.meta.url));

export interface FixtureTensor {
  datatype: string;
  shape: number[];
  data: number[];
}

export interface FixtureCase {
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
}

/** Every fixture that has expected outputs (the `refuse-*` ones have none). */
export function servedFixtures(): string[] {
  return readdirSync(ONNX_FIXTURES)
    .filter((name) => !name.startsWith('refuse-'))
    .sort();
}

export const fixtureBytes = (name: string, file = 'model.onnx'): Buffer =>
  readFileSync(join(ONNX_FIXTURES, name, file));

export const fixtureCases = (name: string): FixtureCase[] =>
  JSON.parse(readFileSync(join(ONNX_FIXTURES, name, 'cases.json'), 'utf8')).cases;

function ortTensor(t: FixtureTensor): ort.Tensor {
  if (t.datatype === 'FP32') return new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
  if (t.datatype === 'INT32') return new ort.Tensor('int32', Int32Array.from(t.data), t.shape);
  return new ort.Tensor('int64', BigInt64Array.from(t.data.map(BigInt)), t.shape);
}

/** onnxruntime-node's outputs for `inputs`, flat. */
export async function runOrt(
  model: Uint8Array,
  inputs: Record<string, FixtureTensor>,
): Promise<Record<string, { shape: number[]; data: number[] }>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, ortTensor(t)]));
    const out = await session.run(feeds);
    return Object.fromEntries(
      Object.entries(out).map(([name, t]) => [name, { shape: [...t.dims], data: Array.from(t.data as Float32Array) }]),
    );
  } finally {
    await session.release();
  }
}

/** Row-major transpose of a flat tensor by `perm`. */
export function transposed(
  t: { shape: number[]; data: number[] },
  perm: number[],
): { shape: number[]; data: number[] } {
  const shape = perm.map((p) => t.shape[p]);
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const data: number[] = [];
  const walk = (depth: number, offset: number) => {
    if (depth === shape.length) {
      data.push(t.data[offset]);
      return;
    }
    for (let i = 0; i < shape[depth]; i++) walk(depth + 1, offset + i * strides[perm[depth]]);
  };
  walk(0, 0);
  return { shape, data };
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * A temporary MODELS_DIR with these fixtures as `NAME/1/model.onnx` (and `extra` files: path → bytes or text),
 * removed when the test ends.
 */
export function onnxRepository(
  t: { teardown(fn: () => unknown): void },
  names: readonly string[],
  extra: Record<string, Uint8Array | string> = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'rnn-serve-onnx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of names) {
    mkdirSync(join(dir, name, '1'), { recursive: true });
    writeFileSync(join(dir, name, '1', 'model.onnx'), fixtureBytes(name));
  }
  for (const [path, content] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
