/**
 * attributes.ts reads a node's attributes by name and kind, refusing one the operator does not take or one of the
 * wrong kind. Held to the values read, the fallbacks, and each refusal's one line naming the node.
 */
import t from 'tap';
import { Attributes, noAttributes, nodeLabel } from '../../../src/models/onnx/attributes.js';
import { OnnxModelError } from '../../../src/models/onnx/decode.js';
import { float, floats, int, ints, onnxNode, string, strings } from '../../helpers/onnx-ops.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof OnnxModelError) return error.message;
    throw error;
  }
  throw new Error('nothing was refused');
};

t.test('values by kind, fallbacks when absent', async (t) => {
  const node = onnxNode(
    'Op',
    {
      a: int(3),
      b: float(0.5),
      c: string('forward'),
      d: ints([1, -1]),
      e: floats([0.25]),
      f: strings(['Tanh', 'Relu']),
      g: { kind: 'tensor', value: { type: 'float', shape: [1], data: Float32Array.of(7) } },
    },
    [],
    ['y'],
    'rnn',
  );
  t.equal(nodeLabel(node), "node 'rnn' (Op)");
  const a = new Attributes(node, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  t.equal(a.int('a', 0), 3);
  t.equal(a.requiredInt('a'), 3);
  t.equal(a.float('b', 1), 0.5);
  t.equal(a.optionalFloat('b'), 0.5);
  t.equal(a.string('c', 'reverse'), 'forward');
  t.same(a.ints('d'), [1, -1]);
  t.same(a.floats('e'), [0.25]);
  t.same(a.strings('f'), ['Tanh', 'Relu']);
  t.same([...(a.tensor('g')?.data ?? [])], [7]);
  t.ok(a.has('a'));
  t.notOk(a.has('h'));
  t.equal(a.int('h', 9), 9, 'the fallback');
  t.equal(a.float('h', 0.2), 0.2);
  t.equal(a.string('h', 'x'), 'x');
  t.equal(a.optionalFloat('h'), undefined);
  t.equal(a.ints('h'), undefined);
  t.equal(a.tensor('h'), undefined);
});

t.test('refusals: an attribute not taken, of the wrong kind, or required and absent', async (t) => {
  const node = onnxNode('Gemm', { alpha: float(1), transC: int(1) }, [], ['y'], 'fc');
  t.equal(
    refusal(() => new Attributes(node, ['alpha', 'beta'])),
    "node 'fc' (Gemm): attribute 'transC' is not supported (supported: alpha, beta)",
  );
  t.equal(
    refusal(() => noAttributes(onnxNode('Add', { axis: int(0) }, [], ['y'], 'add'))),
    "node 'add' (Add): attribute 'axis' is not supported (it takes none)",
  );
  t.equal(noAttributes(onnxNode('Add')), null);
  const a = new Attributes(onnxNode('Softmax', { axis: float(1) }, [], ['y'], 's'), ['axis', 'k']);
  t.equal(
    refusal(() => a.int('axis', -1)),
    "node 's' (Softmax): attribute 'axis' is float; expected int",
  );
  t.equal(
    refusal(() => a.requiredInt('k')),
    "node 's' (Softmax): attribute 'k' is required",
  );
});
