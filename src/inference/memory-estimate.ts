/**
 * The memory a request holds while it is in flight, estimated from its shapes alone (before its work starts), so
 * that requests can be admitted against a byte budget (MEMORY_BUDGET_BYTES) instead of finding out from the
 * OOM killer. An estimate, not a measurement: each term is an upper bound of what the code allocates for it.
 */
import { cellOf, gateCount, layerDirections, outputFeatures, passWorkBytes, weightCount } from '../engine/index.js';
import type { LayerPlan } from './layer-plan.js';
import type { ResolvedModel } from './model.js';

/** Bytes of the JSON text of one float32 value at most: `-1.17549435e-38` and a comma. */
export const JSON_BYTES_PER_VALUE = 16;

/**
 * Bytes of a parsed JSON request per byte of its text: JSON.parse turns `0.5,` (4 bytes) into an 8-byte double in
 * an array (more for arrays of arrays), and the text is held while it is parsed.
 */
export const PARSED_BYTES_PER_BODY_BYTE = 4;

/** Seeded weights being built: the float32 weights, and the orthogonal initialiser's float64 QR work space. */
function seededBuildBytes(model: ResolvedModel, inputDim: number): number {
  if (model.seed === null) return 0;
  let bytes = 0;
  let layerInput = inputDim;
  model.spec.layers.forEach((layer, k) => {
    const h = layer.hiddenSize;
    const columns = gateCount(cellOf(layer)) * h;
    bytes += layerDirections(model.spec, k) * (weightCount(layer, layerInput, h) * 4 + 3 * h * columns * 8);
    layerInput = outputFeatures(model.spec, k);
  });
  return bytes;
}

/**
 * A planned pass: its input tensor, the engine's work (every layer's output sequences, states, weight panels
 * and kernel heap: engine/work-memory.ts), the answer's values as float32 and as JSON text, and seeded weights
 * it builds. A served model's panels stay with it after its first pass, so they are not charged per request. `bodyBytes`: the request body as received (0 when it is no longer held).
 */
export function planMemoryBytes(plan: LayerPlan, bodyBytes = 0): number {
  const { model, shape, served, values } = plan;
  return (
    bodyBytes * PARSED_BYTES_PER_BODY_BYTE +
    values.input * 4 +
    passWorkBytes(model.spec, shape, served) +
    values.output * (4 + JSON_BYTES_PER_VALUE) +
    (served ? 0 : seededBuildBytes(model, shape[2]))
  );
}

/** A body parsed and planned on a worker, whose shapes are not known yet: its text, parsed, and its answer. */
export function unparsedBodyMemoryBytes(bodyBytes: number, maxOutputValues: number): number {
  return bodyBytes * (1 + PARSED_BYTES_PER_BODY_BYTE) + maxOutputValues * (4 + JSON_BYTES_PER_VALUE);
}

/** POST /rnn/weights: the weights built (if seeded), and three layouts of them as JS numbers and as JSON text. */
export function weightsMemoryBytes(model: ResolvedModel, weightValues: number): number {
  return seededBuildBytes(model, model.inputDim) + 3 * weightValues * (8 + JSON_BYTES_PER_VALUE);
}
