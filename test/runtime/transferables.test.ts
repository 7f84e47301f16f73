/**
 * transferables.ts picks what crosses to a worker by transfer. Held to: arrays spanning their buffer moved as they
 * are, views into a larger buffer (a slab) and arrays over a buffer the sender keeps copied first, a model's
 * weights never listed, an ONNX job's local program dropped, and a real crossing (structuredClone with the list)
 * leaving the sender's slab intact.
 */
import t from 'tap';
import { planLayers } from '../../src/inference/layer-plan.js';
import { layerFacts } from '../../src/inference/layer-run.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import type { Job } from '../../src/runtime/jobs.js';
import { outgoing, owned } from '../../src/runtime/transferables.js';
import { LIMITS, explicitModel, inferenceRequest, layer, nestedTensor, servedAs } from '../helpers/inference.js';

const cache = new SeededWeightsCache(2);

t.test('a layer job: its own arrays moved, views copied, the weights left alone', async (t) => {
  const model = explicitModel({ layers: [layer(2)], bidirectional: null }, 2);
  const plan = planLayers(
    inferenceRequest([
      nestedTensor(
        'input',
        [
          [
            [1, 2],
            [3, 4],
          ],
          [[5, 6]],
        ],
        'inputs',
      ),
    ]),
    LIMITS,
    cache,
    servedAs(model),
    null,
  );
  const slab = new Float32Array(16);
  const initial = slab.subarray(4, 8);
  initial.set([1, 2, 3, 4]);
  const job: Job = {
    kind: 'layers',
    plan: { ...plan, initialStates: [initial] },
    members: [{ rows: null, carry: false, facts: layerFacts(plan), encoding: { kind: 'result' } }],
  };
  const { job: moved, transfer } = outgoing(job);
  if (moved.kind !== 'layers') throw new Error('a layer job');
  t.equal(moved.plan.inputs, plan.inputs, 'the input spans its buffer: moved as it is');
  t.not(moved.plan.initialStates?.[0], initial, 'the view is copied');
  t.same([...(moved.plan.initialStates?.[0] ?? [])], [1, 2, 3, 4]);
  t.equal(transfer.length, 3, 'inputs, mask, the copied state');
  t.notOk(transfer.includes(slab.buffer as ArrayBuffer), 'never the slab');
  t.notOk(transfer.includes(model.weights[0][0].kernel.buffer as ArrayBuffer), 'never the weights');
  structuredClone(moved, { transfer });
  t.equal(slab.length, 16, 'the slab is intact after the crossing');
  t.equal(plan.inputs.length, 0, 'the moved input is detached on the sender');
});

t.test('other jobs', async (t) => {
  const bytes = new Uint8Array(new ArrayBuffer(8), 2, 4);
  const { job, transfer } = outgoing({ kind: 'forward-json', bytes, limits: LIMITS });
  t.not((job as { bytes: Uint8Array }).bytes, bytes, 'a view of the body is copied');
  t.equal(transfer.length, 1);
  const weights = outgoing({ kind: 'weights', request: { inputDim: 1, hiddenSize: 1 }, limits: LIMITS });
  t.same(weights.transfer, []);
  const x = Float32Array.of(1, 2);
  const onnx = outgoing({
    kind: 'onnx',
    source: { id: 1, bytes: new Uint8Array() },
    run: {
      inputs: new Map([['x', { type: 'float', shape: [2], data: x }]]),
      outputs: [],
      paths: new Map(),
      facts: {} as never,
      carry: [],
    },
    encoding: { kind: 'result' },
    local: { program: {} as never, plan: {} as never },
  });
  t.notOk('local' in onnx.job, 'the program stays: a worker decodes its own');
  t.same(onnx.transfer, [x.buffer]);
});

t.test('owned: every typed array in a buffer of its own; held buffers copied', async (t) => {
  const own = Float32Array.of(1);
  const held = Float32Array.of(2);
  const view = new Float32Array(4).subarray(1, 2);
  const { value, buffers } = owned({ a: [own, { b: held }], m: new Map([['v', view]]), n: 3 }, new Set([held.buffer]));
  const out = value as { a: [Float32Array, { b: Float32Array }]; m: Map<string, Float32Array>; n: number };
  t.equal(out.a[0], own);
  t.not(out.a[1].b, held);
  t.same([...out.a[1].b], [2]);
  t.not(out.m.get('v'), view);
  t.equal(out.n, 3);
  t.equal(buffers.length, 3);
  t.notOk(buffers.includes(held.buffer as ArrayBuffer));
});

t.test("a body in Node's Buffer pool goes out as a copy of its own, and posts", async (t) => {
  // A small Buffer is a view into Node's pool, which Node 21+ refuses to transfer; Buffer#slice is a view too.
  const body = Buffer.from('{"inputs": [[[1, 0]]], "hiddenSize": 2}');
  t.ok(body.byteOffset > 0 || body.byteLength < body.buffer.byteLength, 'the body is a view into a larger buffer');
  const job: Job = { kind: 'forward-json', bytes: body, limits: LIMITS };
  const { job: moved, transfer } = outgoing(job);
  const bytes = (moved as Extract<Job, { kind: 'forward-json' }>).bytes;
  t.equal(transfer.length, 1);
  t.equal(transfer[0], bytes.buffer, 'its own buffer is the one transferred');
  t.equal(bytes.byteLength, transfer[0].byteLength, 'spanning it');
  t.not(bytes.buffer, body.buffer, 'not the pool');
  t.equal(Buffer.from(bytes).toString(), body.toString(), 'the same bytes');
  const channel = new MessageChannel();
  t.teardown(() => channel.port1.close());
  channel.port1.postMessage(moved, transfer);
  t.equal(transfer[0].byteLength, 0, 'transferred (detached here)');
  t.equal(body.toString().length > 0, true, 'the request keeps its body');
});
