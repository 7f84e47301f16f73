/**
 * The TF.js RNN family of the lecture series, each model saved by tfjs itself (scripts/make-tfjs-fixtures.ts),
 * loaded through the repository and served on /models/NAME/forward and /v2/models/NAME/infer within 1e-5 of
 * tfjs's own `model.predict`: many-to-one, stacked, taggers, bidirectional, mixed plain and bidirectional stacks
 * with their own merge modes, the layers around (InputLayer, SpatialDropout1D, Dropout, Activation, Flatten) and
 * functional models returning their last layer's states.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { build } from '../helpers/build.js';
import { modelsDir } from '../helpers/models.js';
import { maxAbsDiff } from '../helpers/tfjs.js';

const FAMILY = fileURLToPath(new URL('../fixtures/tfjs-family/', import.meta.url));
const TOLERANCE = 1e-5;

interface Expected {
  inputs: number[][][];
  /** model.predict's first output (both, for merge_mode null). */
  outputs: unknown;
  /** model.predict's further outputs: the last recurrent layer's states (return_state). */
  states?: number[][][];
}

const expectedOf = (name: string): Expected => JSON.parse(readFileSync(join(FAMILY, name, 'expected.json'), 'utf8'));

/** A repository holding fixture `name` as `name/1`, its model.json optionally changed. */
function repository(t: { teardown(fn: () => unknown): void }, name: string, change?: (json: any) => void): string {
  const dir = modelsDir(t, {});
  cpSync(join(FAMILY, name), join(dir, name, '1'), { recursive: true });
  if (change) {
    const json = JSON.parse(readFileSync(join(FAMILY, name, 'model.json'), 'utf8'));
    change(json);
    writeFileSync(join(dir, name, '1', 'model.json'), JSON.stringify(json));
  }
  return dir;
}

/** An answer's shape as metadata declares it: -1 for batch and time (the leading 2 of merge_mode null stays). */
const declared = (shape: number[]) =>
  shape.map((n, i) => (i === shape.length - 1 || (shape.length === 4 && i === 0) ? n : -1));

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);

/** name, the answer's outputs shape, the summary's wrapping of each recurrent layer (null: plain). */
const CASES: [string, number[], ({ mergeMode: string | null } | null)[]][] = [
  ['many-to-one', [2, 4], [null]],
  ['stacked', [2, 2], [null, null]],
  ['tagger', [2, 5, 3], [null]],
  ['bidirectional', [2, 5, 2], [{ mergeMode: 'concat' }]],
  ['mixed-sequences', [2, 5, 2], [{ mergeMode: 'concat' }, null, { mergeMode: 'ave' }]],
  ['mixed-last', [2, 3], [null, { mergeMode: 'sum' }, { mergeMode: 'mul' }]],
  ['mixed-null', [2, 2, 5, 2], [null, { mergeMode: null }]],
  ['layers', [2, 3], [null, null]],
  ['functional-state', [2, 3], [null, null]],
  ['functional-bidirectional-state', [2, 5, 6], [{ mergeMode: 'concat' }]],
];

for (const [name, shape, wrapping] of CASES) {
  t.test(`${name}: served as tfjs model.predict, on both routes`, async (t) => {
    const expected = expectedOf(name);
    const { app } = await build(t, { models: { dir: repository(t, name) } });

    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: expected.inputs },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    const body = res.json();
    t.same(body.shapes.outputs, shape);
    const diff = maxAbsDiff(body.outputs, expected.outputs);
    t.ok(diff < TOLERANCE, `max |served - tfjs| = ${diff}`);
    const mixed = new Set(wrapping.map((w) => JSON.stringify(w))).size > 1;
    if (mixed) {
      t.same(
        body.model.layers.map((l: { bidirectional: unknown }) => l.bidirectional),
        wrapping,
        'each layer its own wrapping',
      );
      t.equal(body.model.bidirectional, null);
    } else {
      t.same(body.model.bidirectional, wrapping[0]);
      t.notOk('bidirectional' in body.model.layers[0], 'one wrapping for all: said once');
    }
    // The states: one per layer and direction; tfjs's return_state gives the last layer's, which come last.
    const stateCount = wrapping.reduce((n, w) => n + (w === null ? 1 : 2), 0);
    const states = stateCount === 1 ? [body.states] : body.states;
    t.equal(states.length, stateCount, 'a state per layer and direction');
    if (expected.states !== undefined) {
      const last = states.slice(-expected.states.length);
      const stateDiff = maxAbsDiff(last, expected.states);
      t.ok(stateDiff < TOLERANCE, `the last layer's states are tfjs's return_state outputs (max diff ${stateDiff})`);
    }

    const meta = (await app.inject({ method: 'GET', url: `/models/${name}` })).json();
    t.same(meta.outputs[0].shape, declared(shape), 'metadata: the outputs as answered');
    t.equal(meta.outputs.filter((o: { name: string }) => o.name === 'outputs').length, shape.length === 2 ? 1 : 2);

    const v2 = await app.inject({
      method: 'POST',
      url: `/v2/models/${name}/infer`,
      payload: {
        inputs: [
          { name: 'input', shape: [2, 5, expected.inputs[0][0].length], datatype: 'FP32', data: expected.inputs },
        ],
      },
    });
    t.equal(v2.statusCode, 200, v2.body.slice(0, 300));
    const outputs = v2.json().outputs as { name: string; shape: number[]; data: number[] }[];
    t.same(outputs[0].shape, shape, 'the protocol output has the same shape');
    t.ok(maxAbsDiff(outputs[0].data, flat(expected.outputs)) < TOLERANCE, 'the protocol output is tfjs too');
    t.equal(outputs.length, 1 + stateCount, 'output and a state per layer and direction');
    const v2meta = (await app.inject({ method: 'GET', url: `/v2/models/${name}` })).json();
    t.same(v2meta.outputs[0].shape, declared(shape), 'protocol metadata');
    if (expected.states !== undefined) {
      const last = outputs.slice(-expected.states.length).map((o) => o.data);
      t.ok(maxAbsDiff(last, expected.states.map(flat)) < TOLERANCE, 'the protocol states are tfjs return_state');
    }
  });
}

t.test('on the worker pool: the same answers (mixed wrappings, last step, Activation layers cross over)', async (t) => {
  for (const name of ['mixed-last', 'layers', 'mixed-null']) {
    const expected = expectedOf(name);
    const { app } = await build(t, { models: { dir: repository(t, name) }, pool: { threads: 1, minCompute: 0 } });
    const res = await app.inject({
      method: 'POST',
      url: `/models/${name}/forward`,
      payload: { inputs: expected.inputs },
    });
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    t.ok(maxAbsDiff(res.json().outputs, expected.outputs) < TOLERANCE, `${name}: as tfjs model.predict`);
  }
});
