/**
 * A served layer model's metadata (inference/metadata.ts): its tensors as the inference protocol lists them
 * (`input` [batch, time, inputDim] FP32 → `output` and the final states; the optional inputs and the other
 * datatypes in `parameters`, where clients that do not know them look past them), and its forward view, with shapes
 * (-1 where any size is accepted) and descriptions.
 */
import type { TensorMetadata as ViewTensor } from '../../schemas/models.js';
import { bidirectionalOf, returnsBothDirections, stateLayers } from '../engine/index.js';
import { cellStateIndices } from '../inference/layer-inputs.js';
import { LAYER_INPUT, LAYER_LENGTHS, LAYER_OUTPUT, cellStateNames, stateNames } from '../inference/layer-names.js';
import type { ModelMetadata, TensorMetadata } from '../inference/metadata.js';
import { modelOutputFeatures, modelSummary } from '../inference/model.js';
import { FLOAT_DATATYPES, INTEGER_DATATYPES } from '../inference/request-tensors.js';
import type { RnnServedModel } from './model-file.js';

export const LAYERS_PLATFORM = 'rnn-serve_json';
const FP32 = 'FP32';

/** The Embedding's vocabulary size for a model that takes token ids, else null. */
const idsOf = (served: RnnServedModel): number | null => served.model.embedding?.inputDim ?? null;

function protocolParameters(served: RnnServedModel): Record<string, string> {
  const { model } = served;
  const { spec } = model;
  const layerOf = stateLayers(spec);
  const states = stateNames(model).map(
    (name, i) => `initial_${name} FP32 [batch, ${spec.layers[layerOf[i]].hiddenSize}]`,
  );
  const cellIndices = cellStateIndices(model);
  const cells = cellStateNames(model).map(
    (name, j) => `initial_${name} FP32 [batch, ${spec.layers[layerOf[cellIndices[j]]].hiddenSize}]`,
  );
  const ids = idsOf(served);
  const datatypes = ids === null ? FLOAT_DATATYPES : [...FLOAT_DATATYPES, ...INTEGER_DATATYPES];
  return {
    input_datatypes: datatypes.join(', '),
    ...(ids === null ? {} : { input_ids: `token ids, integers in [0, ${ids})` }),
    optional_inputs:
      `${LAYER_LENGTHS} INT32|INT64 [batch] (valid steps per sequence; later steps are masked); ` +
      `${states.join(', ')} (the initial state${states.length > 1 ? 's, all or none, in state order' : ''})` +
      (cells.length === 0
        ? ''
        : `; ${cells.join(', ')} (the LSTM layers' initial cell state${cells.length > 1 ? 's, all or none' : ''})`),
  };
}

function protocolOutputs(served: RnnServedModel): TensorMetadata[] {
  const { model } = served;
  const { spec } = model;
  const last = spec.layers.length - 1;
  // A many-to-one model answers the last step only: [batch, features].
  const steps = model.lastStep === true ? [-1] : [-1, -1];
  const output = returnsBothDirections(spec)
    ? [2, ...steps, spec.layers[last].hiddenSize]
    : [...steps, modelOutputFeatures(model)];
  const layerOf = stateLayers(spec);
  const states = stateNames(model).map((name, i) => ({
    name,
    datatype: FP32,
    shape: [-1, spec.layers[layerOf[i]].hiddenSize],
  }));
  const cellIndices = cellStateIndices(model);
  const cells = cellStateNames(model).map((name, j) => ({
    name,
    datatype: FP32,
    shape: [-1, spec.layers[layerOf[cellIndices[j]]].hiddenSize],
  }));
  return [{ name: LAYER_OUTPUT, datatype: FP32, shape: output }, ...states, ...cells];
}

/**
 * The view's outputs: `outputs` with every step (returnSequences true, the default) or the last step
 * (returnSequences false; a many-to-one model only has this one), and the final state of each layer and direction.
 */
function viewOutputs(served: RnnServedModel): ViewTensor[] {
  const { spec } = served.model;
  const both = returnsBothDirections(spec);
  const features = modelOutputFeatures(served.model);
  const lead = both ? [2] : [];
  const layerOf = stateLayers(spec);
  const states = layerOf.map((k, i) => {
    const wrapped = bidirectionalOf(spec, k) !== null;
    return {
      name: layerOf.length === 1 ? 'states' : `states[${i}]`,
      shape: [-1, spec.layers[k].hiddenSize],
      description: `final state of layer ${k}${wrapped ? (layerOf[i - 1] === k ? ' backward' : ' forward') : ''}, [batch, hiddenSize]`,
    };
  });
  // An LSTM layer's final cell state c, listed as the answer's `cellStates` (its LSTM layers only, in state order).
  const lstm = cellStateIndices(served.model);
  states.push(
    ...lstm.map((i, j) => ({
      name: lstm.length === 1 ? 'cellStates' : `cellStates[${j}]`,
      shape: [-1, spec.layers[layerOf[i]].hiddenSize],
      description: `final cell state (c) of ${states[i].description.slice('final state of '.length)}`,
    })),
  );
  if (served.model.lastStep === true) {
    return [
      {
        name: 'outputs',
        shape: [...lead, -1, features],
        description: `the last step (a many-to-one model), ${both ? '[2, batch, hiddenSize], forward first' : '[batch, features]'}`,
      },
      ...states,
    ];
  }
  return [
    {
      name: 'outputs',
      shape: [...lead, -1, -1, features],
      description: `returnSequences true (default): every step, ${both ? '[2, batch, time, hiddenSize], forward first' : '[batch, time, features]'}`,
    },
    {
      name: 'outputs',
      shape: [...lead, -1, features],
      description: `returnSequences false: the last step, ${both ? '[2, batch, hiddenSize], forward first' : '[batch, features]'}`,
    },
    ...states,
  ];
}

export function layerMetadata(served: RnnServedModel): ModelMetadata {
  return {
    name: served.name,
    version: served.version,
    platform: LAYERS_PLATFORM,
    // `input` is declared FP32 (what the engine computes in; an Embedding model too): clients that build requests
    // from the metadata send FP32.
    inputs: [{ name: LAYER_INPUT, datatype: FP32, shape: [-1, -1, served.model.inputDim] }],
    outputs: protocolOutputs(served),
    parameters: protocolParameters(served),
    view: {
      inputs: [{ name: 'inputs', shape: [-1, -1, served.model.inputDim], description: '[batch, time, inputDim]' }],
      outputs: viewOutputs(served),
      vocabulary: served.vocabulary,
      labels: served.labels ?? null,
      model: modelSummary(served.model),
    },
  };
}
