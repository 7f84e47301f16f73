/**
 * A repository model in front of the forward pass: a request without a model description becomes the
 * /rnn/forward request planForward takes, with the model resolved at start-up; and the model's inputs and
 * outputs, with shapes (-1 where any size is accepted), for the metadata routes.
 */
import type { ForwardRequest } from '../../schemas/forward.js';
import type { ModelForwardRequest } from '../../schemas/models.js';
import type { Limits } from '../config/config.js';
import { bidirectionalOf, returnsBothDirections, stateLayers } from '../engine/index.js';
import { cellStateIndices, type ForwardPlan, type PlanOptions, planForward } from '../inference/forward-pass.js';
import { modelOutputFeatures } from '../inference/model.js';
import { ProblemError } from '../errors/problem-error.js';
import type { RnnServedModel } from './model-file.js';
import type { SeededWeightsCache } from '../inference/weights-cache.js';

export interface TensorMetadata {
  name: string;
  shape: number[];
  description: string;
}

/**
 * The plan for a served model: the stored description and vocabulary, the client's inputs and options.
 * `options`: inputs already in numbers (the Open Inference Protocol's binary tensors) and the answer's format.
 */
export function planServed(
  served: RnnServedModel,
  body: ModelForwardRequest,
  limits: Limits,
  cache: SeededWeightsCache,
  options: PlanOptions = {},
): ForwardPlan {
  if (body.text !== undefined && served.vocabulary === null) {
    throw ProblemError.at('invalid-request', [
      {
        path: 'text',
        message: `model '${served.name}' version ${served.version} has no vocabulary (${served.file}); send inputs`,
      },
    ]);
  }
  if (served.model.lastStep === true && body.returnSequences === true) {
    throw ProblemError.at('invalid-request', [
      {
        path: 'returnSequences',
        message: `is true, but model '${served.name}' version ${served.version} is many-to-one: its last recurrent layer returns the last step only (return_sequences false in ${served.file}); drop returnSequences`,
      },
    ]);
  }
  const request: ForwardRequest = {
    ...served.description,
    ...body,
    returnSequences: served.model.lastStep !== true && (body.returnSequences ?? true),
    zeroOutputForMask: false,
    ...(body.text !== undefined && served.vocabulary !== null ? { vocabulary: served.vocabulary } : {}),
  };
  return planForward(request, limits, cache, served.model, { ...options, labels: served.labels ?? null });
}

export function inputsOf(served: RnnServedModel): TensorMetadata[] {
  return [{ name: 'inputs', shape: [-1, -1, served.model.inputDim], description: '[batch, time, inputDim]' }];
}

/**
 * The outputs: `outputs` with every step (returnSequences true, the default) or the last step
 * (returnSequences false; a many-to-one model only has this one), and the final state of each layer and direction.
 */
export function outputsOf(served: RnnServedModel): TensorMetadata[] {
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
