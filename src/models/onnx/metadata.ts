/**
 * An ONNX graph's metadata (inference/metadata.ts): its inputs and outputs are the graph's, with the graph's names,
 * datatypes (FP32; INT64 or INT32 for token ids and sequence lengths) and shapes (-1 for a dynamic axis); its
 * parameters say the datatypes also taken, the classifier outputs and the labels; its forward view lists the same
 * tensors with descriptions, and the graph's summary.
 */
import type { OnnxGraphSummary } from '../../../schemas/forward.js';
import type { TensorMetadata as ViewTensor } from '../../../schemas/models.js';
import type { ModelMetadata } from '../../inference/metadata.js';
import { onnxClassifiers } from './classifier.js';
import type { GraphTensor, OnnxProgram } from './program.js';
import { formatShape } from './tensor.js';

export const ONNX_PLATFORM = 'rnn-serve_onnx';

export function onnxGraphSummary(program: OnnxProgram): OnnxGraphSummary {
  return {
    opset: program.graph.opset,
    producer: program.graph.producer,
    nodes: program.nodes.length,
    operators: [...new Set(program.nodes.map(({ node }) => node.opType))].sort(),
  };
}

/** The graph's inputs or outputs as our forward view lists them. */
function viewTensors(tensors: readonly GraphTensor[], what: 'input' | 'output'): ViewTensor[] {
  return tensors.map(({ name, datatype, shape }) => ({
    name,
    shape: [...shape],
    datatype,
    description: `graph ${what}, ${datatype} ${formatShape(shape)} (-1: dynamic axis)`,
  }));
}

/**
 * The parameters; with classifier outputs, `classification` names them (what `parameters.classification` applies
 * to) and `labels` is labels.txt as a JSON array of strings.
 */
function parameters(program: OnnxProgram, labels: readonly string[] | null): Record<string, string> {
  const { opset, producer, operators } = onnxGraphSummary(program);
  const classifiers = onnxClassifiers(program).map(
    (c) => `'${c.output}': ${c.classes} classes (${c.operator} over its last axis)`,
  );
  return {
    format: 'onnx',
    opset: String(opset),
    ...(producer === '' ? {} : { producer }),
    operators: operators.join(', '),
    input_datatypes: 'FP32 inputs also take FP64 and FP16 (rounded to float32); INT64 inputs also take INT32',
    ...(classifiers.length === 0 ? {} : { classification: classifiers.join('; ') }),
    ...(labels ? { labels: JSON.stringify(labels) } : {}),
  };
}

export function onnxMetadata(model: {
  readonly name: string;
  readonly version: string;
  readonly program: OnnxProgram;
  readonly labels?: readonly string[] | null;
}): ModelMetadata {
  const { program } = model;
  const labels = model.labels ?? null;
  const tensors = (list: readonly GraphTensor[]) =>
    list.map(({ name, datatype, shape }) => ({ name, datatype, shape: [...shape] }));
  return {
    name: model.name,
    version: model.version,
    platform: ONNX_PLATFORM,
    inputs: tensors(program.inputs),
    outputs: tensors(program.outputs),
    parameters: parameters(program, labels),
    view: {
      inputs: viewTensors(program.inputs, 'input'),
      outputs: viewTensors(program.outputs, 'output'),
      vocabulary: null,
      labels,
      model: null,
      graph: onnxGraphSummary(program),
    },
  };
}
