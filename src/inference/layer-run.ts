/**
 * A recurrent layer model's pass over a plan (layer-plan.ts): the optional Embedding and Masking in front, the
 * recurrent layers (engine/network.ts), the Dense head after; then the planned outputs as named tensors (result
 * tensors of request.ts), the final states in the plan's layout. Runs the same on the event loop and on a worker.
 */
import {
  denseForward,
  embeddingLookup,
  maskFromValue,
  type NetworkResult,
  runNetwork,
  type Shape3,
  stateLayers,
} from '../engine/index.js';
import { prepareText } from '../codec/json-writer.js';
import type { InferenceResult, ResultFacts, ResultTensor } from './request.js';
import type { LayerPlan } from './layer-plan.js';
import { type ResolvedModel, modelSummary } from './model.js';

/**
 * An imported model's Embedding: ids [batch, time, 1] → [batch, time, outputDim], and with `maskZero` the
 * mask of id 0 (the ids were checked by the plan: layer-plan.ts `checkIds`).
 */
function embedded(plan: LayerPlan): { inputs: Float32Array; shape: Shape3; mask: Uint8Array | null } {
  const embedding = plan.model.embedding ?? null;
  if (embedding === null) return { inputs: plan.inputs, shape: plan.shape, mask: plan.mask };
  const [batch, time] = plan.shape;
  const ids = plan.inputs;
  let mask = plan.mask;
  if (embedding.maskZero) {
    mask = new Uint8Array(batch * time);
    for (let i = 0; i < mask.length; i++) mask[i] = ids[i] !== 0 && (plan.mask === null || plan.mask[i] === 1) ? 1 : 0;
  }
  return { inputs: embeddingLookup(ids, embedding), shape: [batch, time, embedding.outputDim], mask };
}

/** The mask and, for an imported model with Keras Masking, the steps whose features all equal its value. */
function maskOf(model: ResolvedModel, inputs: Float32Array, shape: Shape3, mask: Uint8Array | null): Uint8Array | null {
  const maskValue = model.maskValue ?? null;
  if (maskValue === null) return mask;
  const [batch, time, features] = shape;
  const masked = maskFromValue(inputs, batch, time, features, maskValue);
  if (mask !== null) for (let i = 0; i < masked.length; i++) masked[i] &= mask[i];
  return masked;
}

export function computeForward(plan: LayerPlan): NetworkResult {
  const { model } = plan;
  const input = embedded(plan);
  const result = runNetwork(input.inputs, input.shape, model.spec, model.weights, {
    initialStates: plan.initialStates,
    initialCellStates: plan.initialCellStates,
    mask: maskOf(model, input.inputs, input.shape, input.mask),
    zeroOutputForMask: plan.zeroOutputForMask,
    returnSequences: plan.returnSequences,
  });
  // An imported model's Dense layers act on the last axis (Keras Dense on 3-d inputs, TimeDistributed(Dense)).
  if (model.head === undefined || model.head.length === 0) return result;
  let { outputs, outputShape } = result;
  for (const layer of model.head) {
    const rows = outputs.length / layer.inputDim;
    outputs = denseForward(outputs, rows, layer);
    outputShape = [...outputShape.slice(0, -1), layer.units];
  }
  return { ...result, outputs, outputShape };
}

/** The arrays one after the other, in a buffer of their own (not the slab: it may be transferred). */
export function concatenated(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The `model` field of each model's answers, made once per model (models are kept: model.ts, the repository). */
const summaries = new WeakMap<ResolvedModel, string | Uint8Array>();

export function modelSummaryText(model: ResolvedModel): string | Uint8Array {
  let text = summaries.get(model);
  if (text === undefined) {
    text = prepareText(JSON.stringify(modelSummary(model)));
    summaries.set(model, text);
  }
  return text;
}

/** What the answer says besides the tensors. */
export function layerFacts(plan: LayerPlan): ResultFacts {
  return {
    model: plan.servedAs,
    inputShape: plan.shape,
    vocabulary: plan.vocabulary,
    labels: plan.labels,
    summary: modelSummaryText(plan.model),
    graph: null,
  };
}

/**
 * The planned outputs of a pass as named tensors: [batch, hiddenSize] per state, or with the `pytorch` layout the
 * states (and the cell states) each stacked into one [layers·directions, batch, hiddenSize] tensor, as PyTorch's h_n.
 */
export function resultTensors(plan: LayerPlan, result: NetworkResult): ResultTensor[] {
  const batch = plan.shape[0];
  const layerOf = stateLayers(plan.model.spec);
  const tensors: ResultTensor[] = [];
  const states: ResultTensor[] = [];
  const cells: ResultTensor[] = [];
  for (const output of plan.outputs) {
    if (output.kind === 'output') {
      tensors.push({
        name: output.name,
        role: 'output',
        shape: result.outputShape,
        data: result.outputs,
        classes: output.classes,
      });
      continue;
    }
    const shape = [batch, plan.model.spec.layers[layerOf[output.state]].hiddenSize];
    const data = output.kind === 'state' ? result.states[output.state] : result.cellStates[output.state];
    if (data === null || data === undefined) throw new Error(`no ${output.kind} ${output.state} in the result`);
    const tensor: ResultTensor = { name: output.name, role: output.kind, shape, data, classes: null };
    if (plan.stateLayout === 'pytorch') (output.kind === 'state' ? states : cells).push(tensor);
    else tensors.push(tensor);
  }
  const stacked = (parts: ResultTensor[], name: string, role: 'state' | 'cell-state') =>
    parts.length === 0
      ? []
      : [
          {
            name,
            role,
            shape: [parts.length, ...parts[0].shape],
            data: concatenated(parts.map((p) => p.data)),
            classes: null,
          },
        ];
  tensors.push(...stacked(states, 'h_n', 'state'), ...stacked(cells, 'c_n', 'cell-state'));
  return tensors;
}

/**
 * The state a sequence's next chunk continues from (layer-plan.ts `carriedSlots`): row `row` of each final state,
 * then of each LSTM layer's final cell state, each in an array of its own.
 */
export function carriedState(plan: LayerPlan, result: NetworkResult, row: number): Float32Array[] {
  const { spec } = plan.model;
  const layerOf = stateLayers(spec);
  const rowOf = (data: Float32Array, i: number) => {
    const h = spec.layers[layerOf[i]].hiddenSize;
    return data.slice(row * h, (row + 1) * h);
  };
  const states = result.states.map((data, i) => rowOf(data, i));
  const cells = result.cellStates.flatMap((data, i) => (data === null ? [] : [rowOf(data, i)]));
  return [...states, ...cells];
}

/** Plan → pass → the result (inline or on a worker). */
export function runLayers(plan: LayerPlan): InferenceResult {
  return { tensors: resultTensors(plan, computeForward(plan)), facts: layerFacts(plan) };
}
