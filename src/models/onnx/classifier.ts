/**
 * Which outputs of an ONNX graph are class scores: a graph output written by a Softmax or LogSoftmax node over its
 * last axis, whose last dimension the graph declares fixed (the class count). Those outputs may be ranked (the
 * classification extension, `topK`) and named by labels.txt.
 *
 * LogSoftmax is accepted as well as Softmax: torch taggers end in log_softmax, and the ranking of log-probabilities
 * is the ranking of the probabilities. The scores are answered as the graph computes them (log-probabilities,
 * at most 0, for LogSoftmax), as Triton's classification extension answers the output's own values. An output
 * that passes through another node after its softmax (an Identity, a Reshape) is not recognised: the rule stays
 * one a reader can check against the graph.
 */
import { invalidAt } from '../../errors/problem-error.js';
import { count } from '../../codec/tensors.js';
import type { GraphTensor, OnnxProgram } from './program.js';

export interface OnnxClassifier {
  /** The graph output's name. */
  readonly output: string;
  /** Its fixed last dimension. */
  readonly classes: number;
  readonly operator: 'Softmax' | 'LogSoftmax';
}

function classifierOf(program: OnnxProgram, output: GraphTensor): OnnxClassifier | null {
  const producer = program.nodes.find(({ node }) => node.outputs.includes(output.name));
  if (producer === undefined) return null;
  const operator = producer.node.opType;
  if (operator !== 'Softmax' && operator !== 'LogSoftmax') return null;
  const rank = output.shape.length;
  const { axis } = producer.settings as { axis: number };
  const classes = output.shape[rank - 1];
  if (rank === 0 || (axis !== -1 && axis !== rank - 1) || classes === undefined || classes < 1) return null;
  return { output: output.name, classes, operator };
}

/** The graph's classifier outputs, in output order (usually none or one). */
export function onnxClassifiers(program: OnnxProgram): OnnxClassifier[] {
  return program.outputs.map((output) => classifierOf(program, output)).filter((c) => c !== null);
}

/** The rule, as problems quote it. */
export const CLASSIFIER_RULE = 'an output written by Softmax or LogSoftmax over its last axis, of a fixed size';

/**
 * A requested count K of classes (`path`: where the request gave it) for `output` → K, or a 400 naming `path`: K
 * an integer of at least 1, the output a classifier output, K at most its classes.
 */
export function classificationCount(program: OnnxProgram, output: string, k: unknown, path: string): number {
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1)
    invalidAt(path, `is ${JSON.stringify(k)}; expected a count of classes, an integer of at least 1`);
  const classifier = onnxClassifiers(program).find((c) => c.output === output);
  if (classifier === undefined)
    invalidAt(
      path,
      `applies to classifier outputs (${CLASSIFIER_RULE}); '${output}' is not one (its values are not class scores)`,
    );
  if (k > classifier.classes)
    invalidAt(path, `is ${k}; '${output}' has ${count(classifier.classes, 'class', 'classes')}`);
  return k;
}
