/**
 * The /rnn/forward answer as written by writeResponse (straight into bytes) against the generic way: the same
 * fields built as objects (tensors as nested arrays of shortest float32 decimals, the model summary from
 * modelSummary, classes from the naive ranking) and given to JSON.stringify. Text for text: same fields, same
 * order, same digits.
 */
import t from 'tap';
import { answerShapingRequests } from '../helpers/answer-requests.js';
import { ForwardRequest } from '../../schemas/forward.js';
import { defaultConfig } from '../../src/config/config.js';
import { directionsOf } from '../../src/engine/index.js';
import { computeForward, planForward, writeResponse } from '../helpers/forward.js';
import { modelSummary } from '../../src/inference/model.js';
import { nested, shortestFloat32 } from '../../src/codec/tensors.js';
import { answerText, isStreamed } from '../../src/codec/json-stream.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { topClassesReference } from '../../src/inference/classes.js';
import { rng, randomNested } from '../helpers/random.js';

const random = rng(7);
const cache = new SeededWeightsCache(8);
const inputs = (b: number, time: number, f: number) => randomNested(random, [b, time, f], 2);

const REQUESTS: Record<string, unknown>[] = [
  ...answerShapingRequests(inputs),
  // Streamed by its class entries alone: 16,000 output values (256 kB expected) are below STREAM_MIN_BYTES (1 MiB);
  // with 1000 rows · 16 entries · 4 (CLASS_ENTRY_VALUES) more, 80,000 values (1.28 MB) are above it.
  { inputs: inputs(1, 1000, 1), hiddenSize: 16, seed: 5, topK: 16, returnState: false, outputFormat: 'flat' },
];

const tensor = (format: string, data: Float32Array, shape: readonly number[]) =>
  format === 'flat'
    ? { shape, data: Array.from(data, shortestFloat32) }
    : shape.length === 0
      ? []
      : nested(data, shape);

for (const body of REQUESTS) {
  t.test(JSON.stringify(body).slice(0, 100), async (t) => {
    const plan = planForward(ForwardRequest.parse(body), defaultConfig.limits, cache);
    const result = computeForward(plan);
    const written = writeResponse(plan, result);
    if (plan.classes !== null && plan.classes.k === 16)
      t.ok(isStreamed(written), 'the ranking of 1000 rows streams, by its class entries');
    const text = answerText(written);
    const { spec } = plan.model;
    const stateShapes = result.states.map((_, i) => [
      plan.shape[0],
      spec.layers[Math.floor(i / directionsOf(spec))].hiddenSize,
    ]);
    const single = result.states.length === 1;
    // PyTorch's h_n: every state one after the other, [layers·directions, batch, hiddenSize].
    const pytorch = plan.stateLayout === 'pytorch';
    const hN = Float32Array.from(result.states.flatMap((s) => Array.from(s)));
    const hNShape = [result.states.length, ...stateShapes[0]];
    // The LSTM layers' cell states, shaped as their h (c_n for pytorch), only with returnState.
    const cellIndices = result.cellStates.flatMap((c, i) => (c === null ? [] : [i]));
    const cells = cellIndices.map((i) => result.cellStates[i] as Float32Array);
    const cN = Float32Array.from(cells.flatMap((c) => Array.from(c)));
    const cShapes = cellIndices.map((i) => stateShapes[i]);
    const cNShape = [cells.length, ...(cShapes[0] ?? [])];
    const withCells = plan.returnState && cells.length > 0;
    // classes: the naive ranking of each output row, as plain objects.
    const features = result.outputShape[result.outputShape.length - 1];
    const lead = result.outputShape.slice(0, -1);
    const classes =
      plan.classes === null
        ? null
        : (() => {
            const top = topClassesReference(result.outputs, result.outputs.length / features, features, plan.classes.k);
            const rows = Array.from({ length: top.rows }, (_, r) =>
              Array.from({ length: top.k }, (_, m) => ({
                score: shortestFloat32(top.scores[r * top.k + m]),
                index: top.indices[r * top.k + m],
              })),
            );
            return lead.length === 2
              ? Array.from({ length: lead[0] }, (_, b) => rows.slice(b * lead[1], (b + 1) * lead[1]))
              : rows;
          })();
    const expected = {
      outputs: tensor(plan.outputFormat, result.outputs, result.outputShape),
      ...(plan.returnState
        ? {
            states: pytorch
              ? tensor(plan.outputFormat, hN, hNShape)
              : single
                ? tensor(plan.outputFormat, result.states[0], stateShapes[0])
                : result.states.map((s, i) => tensor(plan.outputFormat, s, stateShapes[i])),
          }
        : {}),
      ...(withCells
        ? {
            cellStates: pytorch
              ? tensor(plan.outputFormat, cN, cNShape)
              : cells.length === 1
                ? tensor(plan.outputFormat, cells[0], cShapes[0])
                : cells.map((c, j) => tensor(plan.outputFormat, c, cShapes[j])),
          }
        : {}),
      ...(classes !== null ? { classes } : {}),
      ...(plan.vocabulary !== null ? { vocabulary: plan.vocabulary } : {}),
      shapes: {
        inputs: plan.shape,
        outputs: result.outputShape,
        ...(plan.returnState ? { states: pytorch ? hNShape : single ? stateShapes[0] : stateShapes } : {}),
        ...(withCells ? { cellStates: pytorch ? cNShape : cells.length === 1 ? cShapes[0] : cShapes } : {}),
        ...(plan.classes !== null ? { classes: [...lead, plan.classes.k] } : {}),
      },
      model: modelSummary(plan.model),
    };
    t.equal(text, JSON.stringify(expected));
  });
}
