/**
 * Dynamic batching of a layer model's passes: plans of several requests for the same served model, with the same
 * options, merged into one pass (their rows one after the other, the shorter sequences padded and masked) and its
 * result split back, each request's answer the one it gets alone, bit for bit.
 *
 * Why the split answer equals the one alone: the engine computes every batch row on its own (each row's products
 * sum in the same order whatever the rows beside it: engine/simple-rnn.ts, lstm.ts, gru.ts), a masked step carries
 * the state unchanged and costs no product, and padding comes after each sequence's last step, so its valid steps
 * are computed exactly as alone and its final state is the one its last valid step left. Two kinds of pass keep
 * their rows apart: a layer that runs backwards outside Bidirectional (its outputs are in processing order, so
 * padding would come first: merged only with sequences of the same length), and mergeMode null (its output puts the
 * directions before the batch: never merged). test/core/batching.test.ts holds the answers equal over generated mixes.
 */
import { bidirectionalOf, returnsBothDirections, stateLayers } from '../engine/index.js';
import type { InferenceResult, ResultTensor } from './request.js';
import type { LayerPlan } from './layer-plan.js';
import type { ResolvedModel } from './model.js';

/** A request's part of a merged pass: its rows and its own time steps. */
export interface BatchMember {
  readonly rows: number;
  readonly time: number;
}

const modelIds = new WeakMap<ResolvedModel, number>();
let nextModelId = 1;

/**
 * The key of the passes `plan` may be merged with (equal keys: same model, same options, same outputs), or null
 * when it is never merged (a model the request describes; mergeMode null).
 */
export function batchKey(plan: LayerPlan): string | null {
  const { model } = plan;
  if (!plan.served || (returnsBothDirections(model.spec) && (model.head ?? []).length === 0)) return null;
  let id = modelIds.get(model);
  if (id === undefined) {
    id = nextModelId++;
    modelIds.set(model, id);
  }
  // Outputs in processing order (go_backwards outside Bidirectional): padding would come first, so same lengths only.
  const backwards = model.spec.layers.some((layer, k) => layer.goBackwards && bidirectionalOf(model.spec, k) === null);
  const outputs = plan.outputs.map((o) => `${o.name}:${o.classes ?? ''}`).join(',');
  return `${id}|${plan.returnSequences}|${plan.stateLayout}|${plan.zeroOutputForMask}|${outputs}|${backwards ? plan.shape[1] : '*'}`;
}

/** Copies each plan's rows of `part` ([rows, width] each, or null for zeros) into one [Σ rows, width] array. */
function stacked(parts: readonly (Float32Array | null)[], rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.reduce((a, b) => a + b, 0) * width);
  let at = 0;
  parts.forEach((part, i) => {
    if (part !== null) out.set(part, at);
    at += rows[i] * width;
  });
  return out;
}

/** The plans (equal batch keys) as one pass: rows one after the other, padded to the longest and masked. */
export function mergeLayerPlans(plans: readonly LayerPlan[]): LayerPlan {
  const first = plans[0];
  const features = first.shape[2];
  const time = Math.max(...plans.map((p) => p.shape[1]));
  const batch = plans.reduce((n, p) => n + p.shape[0], 0);
  const inputs = new Float32Array(batch * time * features);
  const needsMask = plans.some((p) => p.mask !== null || p.shape[1] !== time);
  const mask = needsMask ? new Uint8Array(batch * time) : null;
  let row = 0;
  for (const plan of plans) {
    const [rows, steps] = plan.shape;
    for (let b = 0; b < rows; b++, row++) {
      inputs.set(plan.inputs.subarray(b * steps * features, (b + 1) * steps * features), row * time * features);
      if (mask === null) continue;
      if (plan.mask === null) mask.fill(1, row * time, row * time + steps);
      else mask.set(plan.mask.subarray(b * steps, (b + 1) * steps), row * time);
    }
  }
  const { spec } = first.model;
  const hidden = stateLayers(spec).map((k) => spec.layers[k].hiddenSize);
  const rows = plans.map((p) => p.shape[0]);
  const initialStates = plans.some((p) => p.initialStates !== null)
    ? hidden.map((h, s) =>
        stacked(
          plans.map((p) => p.initialStates?.[s] ?? null),
          rows,
          h,
        ),
      )
    : null;
  const initialCellStates = plans.some((p) => p.initialCellStates !== null)
    ? hidden.map((h, s) =>
        plans.some((p) => (p.initialCellStates?.[s] ?? null) !== null)
          ? stacked(
              plans.map((p) => p.initialCellStates?.[s] ?? null),
              rows,
              h,
            )
          : null,
      )
    : null;
  const cost = plans.reduce((n, p) => n + p.cost, 0);
  const values = {
    input: plans.reduce((n, p) => n + p.values.input, 0),
    output: plans.reduce((n, p) => n + p.values.output, 0),
  };
  return { ...first, cost, values, inputs, shape: [batch, time, features], mask, initialStates, initialCellStates };
}

/** Rows [from, from + rows) of `tensor` ([batch, ...] or, stacked states, [k, batch, ...]), steps [0, time) of each. */
function slice(
  tensor: ResultTensor,
  batch: number,
  mergedTime: number,
  from: number,
  member: BatchMember,
): ResultTensor {
  const { shape, data } = tensor;
  const stackedStates = shape.length === 3 && tensor.role !== 'output';
  const lead = stackedStates ? shape[0] : 1;
  const rowShape = stackedStates ? shape.slice(2) : shape.slice(1);
  const sequence = tensor.role === 'output' && shape.length === 3;
  const rowValues = rowShape.reduce((a, b) => a * b, 1);
  const width = sequence ? rowValues / mergedTime : rowValues;
  const kept = sequence ? member.time * width : rowValues;
  const out = new Float32Array(lead * member.rows * kept);
  let at = 0;
  for (let k = 0; k < lead; k++)
    for (let b = 0; b < member.rows; b++) {
      const start = (k * batch + from + b) * rowValues;
      out.set(data.subarray(start, start + kept), at);
      at += kept;
    }
  const memberShape = sequence ? [member.rows, member.time, width] : [member.rows, ...rowShape];
  return { ...tensor, shape: stackedStates ? [lead, ...memberShape] : memberShape, data: out };
}

/**
 * The merged pass's result, split back into each member's, in the members' order. `facts` gives each member's
 * facts (its input shape, its vocabulary).
 */
export function splitLayerResult(
  result: InferenceResult,
  members: readonly BatchMember[],
  facts: readonly InferenceResult['facts'][],
): InferenceResult[] {
  const batch = members.reduce((n, m) => n + m.rows, 0);
  const mergedTime = Math.max(...members.map((m) => m.time));
  let from = 0;
  return members.map((member, i) => {
    const tensors = result.tensors.map((t) => slice(t, batch, mergedTime, from, member));
    from += member.rows;
    return { tensors, facts: facts[i] };
  });
}
