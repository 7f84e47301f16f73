/**
 * The /rnn/forward answer as written by writeResponse (straight into bytes) against the generic way: the same
 * fields built as objects (tensors as nested arrays of shortest float32 decimals, the model summary from
 * modelSummary) and given to JSON.stringify. Text for text: same fields, same order, same digits.
 */
import t from 'tap';
import { answerShapingRequests } from '../helpers/answer-requests.js';
import { ForwardRequest } from '../../schemas/forward.js';
import { defaultConfig } from '../../src/config/config.js';
import { directionsOf } from '../../src/engine/index.js';
import { computeForward, planForward, writeResponse } from '../../src/inference/forward-pass.js';
import { modelSummary } from '../../src/inference/model.js';
import { nested, shortestFloat32 } from '../../src/codec/tensors.js';
import { answerText } from '../../src/codec/json-stream.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { rng, randomNested } from '../helpers/random.js';

const random = rng(7);
const cache = new SeededWeightsCache(8);
const inputs = (b: number, time: number, f: number) => randomNested(random, [b, time, f], 2);

const REQUESTS = answerShapingRequests(inputs);

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
    const text = answerText(written);
    const { spec } = plan.model;
    const stateShapes = result.states.map((_, i) => [
      plan.shape[0],
      spec.layers[Math.floor(i / directionsOf(spec))].hiddenSize,
    ]);
    const single = result.states.length === 1;
    const expected = {
      outputs: tensor(plan.outputFormat, result.outputs, result.outputShape),
      ...(plan.returnState
        ? {
            states: single
              ? tensor(plan.outputFormat, result.states[0], stateShapes[0])
              : result.states.map((s, i) => tensor(plan.outputFormat, s, stateShapes[i])),
          }
        : {}),
      ...(plan.vocabulary !== null ? { vocabulary: plan.vocabulary } : {}),
      shapes: {
        inputs: plan.shape,
        outputs: result.outputShape,
        ...(plan.returnState ? { states: single ? stateShapes[0] : stateShapes } : {}),
      },
      model: modelSummary(plan.model),
    };
    t.equal(text, JSON.stringify(expected));
  });
}
