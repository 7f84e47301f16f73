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
import onnxProto from 'onnx-proto';

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

/** One node of a hand-built graph: attributes as plain values (number: int unless `floats` names it, array, string). */
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[] | string | string[]>;
  /** Attributes whose numbers are floats (the rest are ints). */
  floats?: string[];
}

export interface GraphSpec {
  inputs: { name: string; elemType?: number; shape: (number | string)[] }[];
  /** Output names and ranks (every axis declared dynamic). */
  outputs: [name: string, rank: number][];
  nodes: NodeSpec[];
  /** Initializers: FLOAT unless `int` is set (then INT64). */
  initializers?: { name: string; dims: number[]; values: number[]; int?: boolean }[];
  opset?: number;
}

/** A hand-built ONNX model, encoded with onnx-proto (the schema the server decodes with). */
export function graphModel(spec: GraphSpec): Uint8Array {
  const { onnx } = onnxProto;
  const T = onnx.AttributeProto.AttributeType;
  const attribute = (name: string, value: number | number[] | string | string[], float: boolean) => {
    if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
    if (typeof value === 'number') return float ? { name, type: T.FLOAT, f: value } : { name, type: T.INT, i: value };
    if (value.length > 0 && typeof value[0] === 'string')
      return { name, type: T.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
    return float
      ? { name, type: T.FLOATS, floats: value as number[] }
      : { name, type: T.INTS, ints: value as number[] };
  };
  const valueInfo = (name: string, elemType: number, shape: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: spec.opset ?? 14 }],
    producerName: 'rnn-serve tests',
    graph: {
      name: 'test',
      node: spec.nodes.map((n, k) => ({
        name: `n${k}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([name, v]) =>
          attribute(name, v, n.floats?.includes(name) ?? false),
        ),
      })),
      input: spec.inputs.map((i) => valueInfo(i.name, i.elemType ?? 1, i.shape)),
      output: spec.outputs.map(([o, rank]) =>
        valueInfo(
          o,
          1,
          Array.from({ length: rank }, (_, i) => `${o}_${i}`),
        ),
      ),
      initializer: (spec.initializers ?? []).map((i) =>
        i.int
          ? { name: i.name, dims: i.dims, dataType: 7, int64Data: i.values }
          : { name: i.name, dims: i.dims, dataType: 1, floatData: i.values },
      ),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
