/**
 * cells.ts: what the three cells share. Held to gate counts, bias lengths and shapes (a GRU with resetAfter has
 * [2, 3·h]), the default cell, weight counts worked by hand, and the argument checks' messages.
 */
import t from 'tap';
import {
  CELL_NAMES,
  DEFAULT_CELL,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  DEFAULT_UNIT_FORGET_BIAS,
  biasLength,
  biasShape,
  cellOf,
  checkGatedArguments,
  gateCount,
  weightCount,
} from '../../src/engine/cells.js';

t.test('gates, biases and defaults', async (t) => {
  t.same(CELL_NAMES, ['simpleRNN', 'lstm', 'gru']);
  t.same(CELL_NAMES.map(gateCount), [1, 4, 3]);
  t.same(
    [biasLength('simpleRNN', 5), biasLength('lstm', 5), biasLength('gru', 5), biasLength('gru', 5, false)],
    [5, 20, 30, 15],
  );
  t.same([biasShape('lstm', 2), biasShape('gru', 2), biasShape('gru', 2, false)], [[8], [2, 6], [6]]);
  t.same(
    [DEFAULT_CELL, DEFAULT_RECURRENT_ACTIVATION, DEFAULT_UNIT_FORGET_BIAS, DEFAULT_RESET_AFTER],
    ['simpleRNN', 'sigmoid', true, true],
  );
  t.equal(cellOf({}), 'simpleRNN');
  t.equal(cellOf({ cell: 'gru' }), 'gru');
});

t.test('weight counts: (inputDim + h)·G·h plus the bias', async (t) => {
  t.equal(weightCount({}, 3, 2), (3 + 2) * 2 + 2);
  t.equal(weightCount({ cell: 'lstm' }, 3, 2), (3 + 2) * 8 + 8);
  t.equal(weightCount({ cell: 'gru' }, 3, 2), (3 + 2) * 6 + 12);
  t.equal(weightCount({ cell: 'gru', resetAfter: false }, 3, 2), (3 + 2) * 6 + 6);
  t.equal(weightCount({ cell: 'lstm' }, 3, 2, false), (3 + 2) * 8, 'no bias');
});

t.test('argument checks: a programming error, named', async (t) => {
  const weights = {
    inputDim: 2,
    hiddenSize: 1,
    kernel: new Float32Array(8),
    recurrentKernel: new Float32Array(4),
    bias: new Float32Array(4),
  };
  const inputs = new Float32Array(2 * 3 * 2);
  t.doesNotThrow(() => checkGatedArguments('lstm', inputs, [2, 3, 2], weights, {}));
  t.throws(() => checkGatedArguments('lstm', inputs, [2, 3, 3], weights, {}), {
    message: 'inputs have 3 features; the kernel expects 2',
  });
  t.throws(() => checkGatedArguments('lstm', inputs, [3, 3, 2], weights, {}), {
    message: 'inputs has 12 elements; expected 18',
  });
  t.throws(() => checkGatedArguments('gru', inputs, [2, 3, 2], weights, {}), {
    message: 'kernel has 8 elements; expected 6',
  });
  t.throws(() => checkGatedArguments('lstm', inputs, [2, 3, 2], weights, { mask: new Uint8Array(5) }), {
    message: 'mask has 5 elements; expected 6',
  });
  t.throws(() => checkGatedArguments('lstm', inputs, [2, 3, 2], weights, { initialCellState: new Float32Array(1) }), {
    message: 'initialCellState has 1 elements; expected 2',
  });
  t.throws(() => checkGatedArguments('lstm', inputs, [2, 3, 2], weights, { clip: 0 }), {
    message: 'clip is 0; expected > 0',
  });
});
