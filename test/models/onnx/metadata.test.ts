/**
 * metadata.ts: an ONNX graph's metadata and forward view. Held to torch's exports: the graph's names, datatypes and
 * shapes (-1 dynamic), the parameters (opset, producer, operators, the classifier outputs, the labels as JSON), the
 * view's descriptions and the graph summary.
 */
import t from 'tap';
import { ONNX_PLATFORM, onnxGraphSummary, onnxMetadata } from '../../../src/models/onnx/metadata.js';
import { loadOnnxProgram } from '../../../src/models/onnx/program.js';
import { fixtureBytes } from '../../helpers/onnx.js';

t.test('a classifier with labels', async (t) => {
  const program = loadOnnxProgram(fixtureBytes('embedding-classifier'));
  const summary = onnxGraphSummary(program);
  t.same(summary, {
    opset: 14,
    producer: 'pytorch 1.13.0',
    nodes: 19,
    operators: [
      'Concat',
      'Constant',
      'ConstantOfShape',
      'Gather',
      'Gemm',
      'RNN',
      'Shape',
      'Softmax',
      'Squeeze',
      'Transpose',
      'Unsqueeze',
    ],
  });
  const metadata = onnxMetadata({ name: 'sentiment', version: '2', program, labels: ['neg', 'pos'] });
  t.equal(metadata.platform, ONNX_PLATFORM);
  t.same([metadata.name, metadata.version], ['sentiment', '2']);
  t.same(metadata.inputs, [{ name: 'ids', datatype: 'INT64', shape: [-1, -1] }]);
  t.same(metadata.outputs, [{ name: 'probs', datatype: 'FP32', shape: [-1, 2] }]);
  t.same(metadata.parameters, {
    format: 'onnx',
    opset: '14',
    producer: 'pytorch 1.13.0',
    operators: summary.operators.join(', '),
    input_datatypes: 'FP32 inputs also take FP64 and FP16 (rounded to float32); INT64 inputs also take INT32',
    classification: "'probs': 2 classes (Softmax over its last axis)",
    labels: '["neg","pos"]',
  });
  t.same(metadata.view.inputs, [
    { name: 'ids', shape: [-1, -1], datatype: 'INT64', description: 'graph input, INT64 [-1, -1] (-1: dynamic axis)' },
  ]);
  t.same(metadata.view.labels, ['neg', 'pos']);
  t.equal(metadata.view.model, null);
  t.equal(metadata.view.vocabulary, null);
  t.same(metadata.view.graph, summary);
});

t.test('a graph without classifier outputs or labels', async (t) => {
  const metadata = onnxMetadata({ name: 'm', version: '1', program: loadOnnxProgram(fixtureBytes('lstm-1-bf')) });
  t.same(
    metadata.outputs.map((o) => [o.name, o.shape]),
    [
      ['y', [-1, -1, 4]],
      ['h_n', [1, -1, 4]],
      ['c_n', [1, -1, 4]],
    ],
  );
  t.notOk('classification' in metadata.parameters);
  t.notOk('labels' in metadata.parameters);
  t.equal(metadata.view.labels, null);
  t.same(metadata.view.outputs[1], {
    name: 'h_n',
    shape: [1, -1, 4],
    datatype: 'FP32',
    description: 'graph output, FP32 [1, -1, 4] (-1: dynamic axis)',
  });
  const node = onnxMetadata({ name: 'n', version: '1', program: loadOnnxProgram(fixtureBytes('node-clip')) });
  t.equal(node.parameters.producer, 'make-onnx-fixtures');
  t.equal(node.parameters.operators, 'RNN');
});
