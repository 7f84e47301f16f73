/**
 * classifier.ts: which graph outputs are class scores (written by Softmax or LogSoftmax over the last axis, of a fixed
 * size) and the check of a requested class count. Held to torch's exports and hand-built graphs on either side of
 * the rule, and each refusal's path and message.
 */
import t from 'tap';
import { CLASSIFIER_RULE, classificationCount, onnxClassifiers } from '../../../src/models/onnx/classifier.js';
import { loadOnnxProgram } from '../../../src/models/onnx/program.js';
import { type GraphSpec, fixtureBytes, graphModel } from '../../helpers/onnx.js';
import { problemOf } from '../../helpers/inference.js';

const softmaxGraph = (op: string, axis: number | undefined, shape: (number | string)[]): GraphSpec => ({
  inputs: [{ name: 'x', shape }],
  outputs: [['p', shape.length]],
  nodes: [{ op, inputs: ['x'], outputs: ['p'], ...(axis === undefined ? {} : { attributes: { axis } }) }],
});
/** A graph whose output `p` declares the input's shape (graphModel declares outputs dynamic: set it here). */
const program = (spec: GraphSpec, outputShape: number[]) => {
  const loaded = loadOnnxProgram(graphModel(spec));
  return { ...loaded, outputs: loaded.outputs.map((o) => ({ ...o, shape: outputShape })) };
};

t.test("torch's classifiers and taggers", async (t) => {
  t.same(onnxClassifiers(loadOnnxProgram(fixtureBytes('embedding-classifier'))), [
    { output: 'probs', classes: 2, operator: 'Softmax' },
  ]);
  t.same(onnxClassifiers(loadOnnxProgram(fixtureBytes('embedding-tagger'))), [
    { output: 'log_probs', classes: 3, operator: 'LogSoftmax' },
  ]);
  t.same(onnxClassifiers(loadOnnxProgram(fixtureBytes('last-step-linear'))), [], 'logits are not class scores');
  t.same(onnxClassifiers(loadOnnxProgram(fixtureBytes('rnn-1-tanh-bf'))), []);
});

t.test('the rule: the last axis, of a fixed size', async (t) => {
  t.same(onnxClassifiers(program(softmaxGraph('Softmax', undefined, ['b', 4]), [-1, 4])), [
    { output: 'p', classes: 4, operator: 'Softmax' },
  ]);
  t.same(onnxClassifiers(program(softmaxGraph('Softmax', 1, ['b', 4]), [-1, 4])).length, 1, 'axis 1 of rank 2');
  t.same(onnxClassifiers(program(softmaxGraph('Softmax', 0, ['b', 4]), [-1, 4])), [], 'another axis');
  t.same(onnxClassifiers(program(softmaxGraph('Softmax', -1, ['b', 'c']), [-1, -1])), [], 'a dynamic class count');
  t.same(onnxClassifiers(program(softmaxGraph('Identity', undefined, ['b', 4]), [-1, 4])), [], 'not a softmax');
  t.match(CLASSIFIER_RULE, /Softmax or LogSoftmax over its last axis/);
});

t.test('classificationCount: an integer K of at least 1, of a classifier output, at most its classes', async (t) => {
  const graph = loadOnnxProgram(fixtureBytes('embedding-classifier'));
  t.equal(classificationCount(graph, 'probs', 2, 'topK'), 2);
  t.same(problemOf(() => classificationCount(graph, 'probs', 3, 'topK')).errors, [
    { path: 'topK', message: "is 3; 'probs' has 2 classes" },
  ]);
  t.same(problemOf(() => classificationCount(graph, 'probs', 0, 'outputs[0].parameters.classification')).errors, [
    {
      path: 'outputs[0].parameters.classification',
      message: 'is 0; expected a count of classes, an integer of at least 1',
    },
  ]);
  t.same(problemOf(() => classificationCount(graph, 'probs', '2', 'k')).errors, [
    { path: 'k', message: 'is "2"; expected a count of classes, an integer of at least 1' },
  ]);
  const plain = loadOnnxProgram(fixtureBytes('rnn-1-tanh-bf'));
  t.same(problemOf(() => classificationCount(plain, 'y', 1, 'k')).errors, [
    {
      path: 'k',
      message: `applies to classifier outputs (${CLASSIFIER_RULE}); 'y' is not one (its values are not class scores)`,
    },
  ]);
});
