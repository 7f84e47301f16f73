/**
 * POST /models/{name}/forward for an ONNX model: our own body and answer over a graph with one input.
 *
 *   - `inputs` feeds the graph's one input: nested `[batch][time][features]`, or flat `{shape, data}` of the
 *     graph input's rank. A `[batch, time]` token-id input also takes nested `[batch][time][1]`, as a TF.js
 *     Embedding model does. Sequences must be of one length (a graph has no mask). `outputFormat` as usual.
 *   - `text`, `lengths`, `mask`, `initialState` and `returnSequences: false` describe our RNN models, not a graph:
 *     refused, naming the protocol route, where every graph input and output has its name. `returnState: false`
 *     leaves `states` out.
 *   - A graph with several inputs is refused the same way: this body cannot name them.
 *   - The answer: `outputs` is the graph's first output; `states` its second when that is `[k, batch, hidden]` (what
 *     torch's nn.RNN returns as h_n: one `[batch, hidden]` per layer and direction, as our `states`, a single
 *     matrix for k = 1); `shapes` as usual; `model` null and `graph` the graph's summary. Other outputs are
 *     answered by the protocol route only. `topK` adds `classes`, the top K of each row of that first output, as on
 *     a layer model's route, when it is a classifier output (classifier.ts), labelled by labels.txt when there is one.
 * The request is checked, planned and limited by planOnnxInference (protocol.ts), so both routes refuse alike;
 * problems it names at `inputs[0].data`/`inputs[0].shape` are renamed to this body's `inputs`.
 */
import type { ModelForwardRequest } from '../../../schemas/models.js';
import type { OipInferenceRequest } from '../../../schemas/oip.js';
import type { Limits } from '../../config/config.js';
import { type JsonBody, JsonWriter } from '../../codec/json-writer.js';
import { ProblemError, invalidAt } from '../../errors/problem-error.js';
import { CLASS_ENTRY_VALUES, topClasses, writeClasses } from '../../inference/classes.js';
import { writeStateList } from '../../inference/state-list.js';
import {
  type AnsweredTensor,
  type OnnxInference,
  type OnnxModel,
  onnxGraphSummary,
  planOnnxInference,
} from './protocol.js';
import { elementsOf, formatShape } from './tensor.js';

const RNN_FIELDS = ['text', 'lengths', 'mask', 'initialState'] as const;

export interface OnnxForward {
  readonly inference: OnnxInference;
  /** The answer from the inference's outputs. */
  answer(tensors: ReadonlyMap<string, AnsweredTensor>): JsonBody;
}

/**
 * `inputs[0].data[3]` (the protocol request built here) → `inputs[3]`; `inputs[0].shape` → `inputs.shape`;
 * `outputs[0].parameters.classification` → `topK`.
 */
function inBodyTerms(error: unknown): unknown {
  if (!(error instanceof ProblemError) || error.errors.length === 0) return error;
  const rename = (path: string) =>
    path
      .replace(/^inputs\[0\]\.data/, 'inputs')
      .replace(/^inputs\[0\]\.(shape|datatype)/, 'inputs')
      .replace(/^outputs\[0\]\.parameters\.classification$/, 'topK');
  return ProblemError.at(
    error.kind,
    error.errors.map((e) => ({ ...e, path: rename(e.path) })),
    error.errorCount,
  );
}

/** The shape of nested `[batch][time][features]` (checked element by element later, against this shape). */
function nestedShape(inputs: number[][][]): number[] {
  const first = inputs[0]?.[0];
  return [inputs.length, inputs[0]?.length ?? 0, first?.length ?? 0];
}

export function planOnnxForward(model: OnnxModel, body: ModelForwardRequest, limits: Limits): OnnxForward {
  const route = `POST /v2/models/${model.name}/infer`;
  for (const field of RNN_FIELDS)
    if (body[field] !== undefined)
      invalidAt(field, `is not taken by model '${model.name}', an ONNX graph: send the graph's inputs to ${route}`);
  if (body.returnSequences === false)
    invalidAt(
      'returnSequences',
      `is false; model '${model.name}' is an ONNX graph, whose outputs are what it computes (${route} names them)`,
    );
  const { program } = model;
  if (program.inputs.length !== 1)
    invalidAt(
      'inputs',
      `feeds one input; model '${model.name}' is an ONNX graph with inputs ${program.inputs.map((i) => `'${i.name}'`).join(', ')}: name them in ${route}`,
    );
  const declared = program.inputs[0];
  if (body.inputs === undefined) return invalidAt('inputs', `is required (the graph's input '${declared.name}')`);
  let shape: number[];
  let data: unknown[];
  if (Array.isArray(body.inputs)) {
    shape = nestedShape(body.inputs);
    data = body.inputs;
    // Token ids as [batch][time][1], the TF.js Embedding convention, for a [batch, time] graph input.
    if (declared.shape.length === 2 && shape[2] === 1) {
      data = body.inputs.map((sequence, b) =>
        sequence.map((step, i) =>
          step.length === 1 ? step[0] : invalidAt(`inputs[${b}][${i}]`, `has ${step.length} ids; expected 1`),
        ),
      );
      shape = shape.slice(0, 2);
    }
  } else {
    shape = body.inputs.shape;
    data = body.inputs.data;
  }
  const [first, second] = program.outputs;
  if (body.topK !== undefined && first.shape.length !== 2 && first.shape.length !== 3)
    invalidAt(
      'topK',
      `ranks rows of [batch, classes] or [batch, time, classes]; output '${first.name}' is ${formatShape(first.shape)}: ask ${route} for it with parameters.classification`,
    );
  // topK is the classification extension on the first output: checked and counted against the limits there.
  const request: OipInferenceRequest = {
    inputs: [{ name: declared.name, datatype: declared.datatype, shape, data: data as number[] }],
    ...(body.topK === undefined
      ? {}
      : {
          outputs: program.outputs.map(({ name }, i) =>
            i === 0 ? { name, parameters: { classification: body.topK as number } } : { name },
          ),
        }),
  };
  let inference: OnnxInference;
  try {
    inference = planOnnxInference(model, request, null, limits);
  } catch (error) {
    throw inBodyTerms(error);
  }
  const flat = body.outputFormat === 'flat';
  const k = body.topK ?? null;
  return {
    inference: {
      ...inference,
      run: () => {
        try {
          return inference.run();
        } catch (error) {
          throw inBodyTerms(error);
        }
      },
      inTerms: (error) => inBodyTerms(inference.inTerms(error)),
    },
    answer(tensors) {
      const outputs = tensors.get(first.name) as AnsweredTensor;
      const h = second === undefined ? undefined : tensors.get(second.name);
      const states = h !== undefined && h.shape.length === 3 && body.returnState !== false ? h : undefined;
      const tensor = (t: AnsweredTensor, shape: readonly number[], from: number, to: number) =>
        flat ? writer.flat(t.data.subarray(from, to), shape) : writer.nested(t.data.subarray(from, to), shape);
      const lead = outputs.shape.slice(0, -1);
      const top =
        k === null ? null : topClasses(outputs.data, elementsOf(lead), outputs.shape[outputs.shape.length - 1], k);
      const writer = new JsonWriter(
        256 + (outputs.data.length + (states?.data.length ?? 0) + (top?.indices.length ?? 0) * CLASS_ENTRY_VALUES) * 12,
      );
      writer.raw('{"outputs":');
      tensor(outputs, outputs.shape, 0, outputs.data.length);
      const stateShape = states === undefined ? [] : states.shape.slice(1);
      const each = stateShape.reduce((a, b) => a * b, 1);
      // h_n's k entries of [batch, hidden], listed as our own `states` are (writeStateList).
      const entries = Array.from({ length: states?.shape[0] ?? 0 }, (_, k) => k);
      const raw = (text: string) => writer.raw(text);
      if (states !== undefined)
        writeStateList('states', entries, raw, (j) => tensor(states, stateShape, j * each, (j + 1) * each));
      if (top !== null) {
        writer.raw(',"classes":');
        writeClasses(writer, top, lead, model.labels ?? null);
      }
      writer
        .raw(',"shapes":{"inputs":')
        .ints(shape)
        .raw(',"outputs":')
        .ints([...outputs.shape]);
      if (states !== undefined) writeStateList('states', entries, raw, () => writer.ints(stateShape));
      if (k !== null) writer.raw(',"classes":').ints([...lead, k]);
      writer.raw(`},"model":null,"graph":${JSON.stringify(onnxGraphSummary(program))}}`);
      return writer.body();
    },
  };
}
