/**
 * cell-forward.ts dispatches one layer and direction to its cell. Held to each cell's answer being its own fast
 * path's with the options passed through (recurrentActivation and resetAfter from the spec, the initial cell state
 * for LSTM only), and to a cell state only for LSTM.
 */
import t from 'tap';
import { cellForward } from '../../src/engine/cell-forward.js';
import { gruForward } from '../../src/engine/gru.js';
import { lstmForward } from '../../src/engine/lstm.js';
import { simpleRnnForward } from '../../src/engine/simple-rnn.js';
import { randomValues, randomWeights } from '../helpers/cells.js';

const [batch, time, inputDim, h] = [2, 3, 2, 2];
const inputs = randomValues(1, batch * time * inputDim);
const options = {
  activation: 'tanh' as const,
  clip: null,
  goBackwards: true,
  initialState: randomValues(2, batch * h),
  initialCellState: randomValues(3, batch * h),
  mask: Uint8Array.of(1, 1, 0, 1, 1, 1),
  zeroOutputForMask: true,
};

t.test('each cell through its own fast path', async (t) => {
  const simple = randomWeights(4, inputDim, h, 1, h);
  const run = cellForward({}, inputs, [batch, time, inputDim], simple, options);
  const direct = simpleRnnForward(inputs, [batch, time, inputDim], simple, options);
  t.same([[...run.outputs], [...run.states], run.cellStates], [[...direct.outputs], [...direct.states], null]);

  const lstm = randomWeights(5, inputDim, h, 4, 4 * h);
  const gated = cellForward(
    { cell: 'lstm', recurrentActivation: 'hardSigmoid' },
    inputs,
    [batch, time, inputDim],
    lstm,
    options,
  );
  const lstmDirect = lstmForward(inputs, [batch, time, inputDim], lstm, {
    ...options,
    recurrentActivation: 'hardSigmoid',
  });
  t.same([...gated.outputs], [...lstmDirect.outputs]);
  t.same([...(gated.cellStates ?? [])], [...lstmDirect.cellStates]);

  const gru = randomWeights(6, inputDim, h, 3, 3 * h);
  const before = cellForward({ cell: 'gru', resetAfter: false }, inputs, [batch, time, inputDim], gru, options);
  const gruDirect = gruForward(inputs, [batch, time, inputDim], gru, { ...options, resetAfter: false });
  t.same([[...before.outputs], before.cellStates], [[...gruDirect.outputs], null]);
  t.throws(
    () => cellForward({ cell: 'gru' }, inputs, [batch, time, inputDim], gru, options),
    { message: `bias has ${3 * h} elements; expected ${6 * h}` },
    'resetAfter by default: a [2, 3h] bias',
  );
});
