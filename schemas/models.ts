import { z } from 'zod';
import { ForwardRequest, ModelFields, ModelSummary, OnnxGraphSummary } from './forward.js';
import { ModelState } from './repository.js';

export const MODEL_FILE_FORMAT = 'rnn-serve/v1';

/**
 * `NAME/VERSION/model.json` in the model repository: the model description exactly as POST /rnn/forward
 * takes it, plus the input size and, for models that read text, the one-hot vocabulary.
 */
export const ModelFile = z.strictObject({
  format: z.literal(MODEL_FILE_FORMAT).describe('The file format and its version'),
  inputDim: z.number().int().min(1).describe('Features of each input step'),
  ...ModelFields,
  vocabulary: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('The tokens in one-hot order (a string of characters or an array of tokens); as many as inputDim'),
});
export type ModelFile = z.infer<typeof ModelFile>;

/** POST /models/{name}/forward: the /rnn/forward body without the model description (the repository has it). */
export const ModelForwardRequest = ForwardRequest.pick({
  inputs: true,
  text: true,
  lengths: true,
  mask: true,
  initialState: true,
  initialCellState: true,
  stateLayout: true,
  topK: true,
  returnSequences: true,
  returnState: true,
  outputFormat: true,
  priority: true,
  timeoutMs: true,
})
  .extend({
    sequenceId: z
      .union([z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(128)])
      .optional()
      .describe(
        "A stateful sequence this request is one chunk of (Triton's `sequence_id`): an integer (up to 2^53 - 1 " +
          'here; the inference protocol takes up to 2^64 - 1) or a string of at most 128 characters, a different ' +
          'sequence from the same digits as an integer. The server carries the final states of each chunk into ' +
          'the next: the chunks answer what the whole sequence answers. One sequence per request (a batch of 1)',
      ),
    sequenceStart: z
      .boolean()
      .optional()
      .describe(
        "With `sequenceId`: the sequence's first chunk, from zero states or `initialState`; a start for a sequence " +
          'in progress restarts it. Every other chunk continues from the state the previous one left',
      ),
    sequenceEnd: z
      .boolean()
      .optional()
      .describe("With `sequenceId`: the sequence's last chunk; its state is dropped after the answer"),
    // No default here: a many-to-one model answers its last step when the request says nothing, and refuses true.
    returnSequences: z
      .boolean()
      .optional()
      .describe(
        'true (default): `outputs` has every step, `[batch, time, features]`; false: the last, `[batch, features]`. ' +
          'A many-to-one model (its last recurrent layer has Keras `return_sequences: false`) answers the last step, and refuses true',
      ),
  })
  .meta({
    id: 'ModelForwardRequest',
    description:
      'A batch of sequences for a served model: the fields of ForwardRequest that are not the model description.',
    examples: [
      { text: ['hello'] },
      {
        inputs: [
          [
            [1, 0, 0, 0],
            [0, 1, 0, 0],
          ],
        ],
        returnSequences: false,
      },
    ],
  });
export type ModelForwardRequest = z.infer<typeof ModelForwardRequest>;

const dims = z.array(z.number().int()).describe('Dimensions, -1 where any size is accepted (batch, time)');

export const TensorMetadata = z
  .object({
    name: z.string(),
    shape: dims,
    datatype: z.string().optional().describe("An ONNX model's: FP32, INT64 or INT32, as the graph declares it"),
    description: z.string(),
  })
  .meta({ id: 'TensorMetadata' });

export const ModelVersionMetadata = z
  .object({
    name: z.string(),
    version: z.string(),
    versions: z.array(z.string()).describe('Every version of the model, oldest first'),
    ready: z.boolean(),
    inputs: z.array(TensorMetadata),
    outputs: z.array(TensorMetadata),
    vocabulary: z
      .array(z.string())
      .nullable()
      .describe('The one-hot order of `text`, or null when the model takes only numeric inputs'),
    labels: z
      .array(z.string())
      .optional()
      .describe("A classifier's class labels (labels.txt), one per output feature; absent when it has none"),
    model: ModelSummary.nullable().describe('The layers, or null for an ONNX model (see `graph`)'),
    graph: OnnxGraphSummary.optional().describe('For an ONNX model (`model.onnx`): its graph'),
  })
  .meta({
    id: 'ModelVersionMetadata',
    description: 'A served model version: its inputs and outputs (with shapes) and its layers',
  });

export const ModelList = z
  .object({
    models: z.array(
      z.object({
        name: z.string(),
        versions: z.array(z.string()).describe('The versions READY to serve, oldest first'),
        latest: z.string().describe('The version used when a request names none'),
        ready: z.boolean(),
        states: z
          .array(
            z.object({
              version: z.string(),
              state: ModelState,
              reason: z.string().optional().describe('Why it is not READY (or, READY, that a newer load of it failed)'),
            }),
          )
          .describe('Every version the repository knows of, with its state, as POST /v2/repository/index lists it'),
      }),
    ),
  })
  .meta({ id: 'ModelList', description: 'The models with a version READY to serve' });

export const ModelParams = z.object({ name: z.string().describe('Model name (a directory of MODELS_DIR)') });
export const ModelVersionParams = ModelParams.extend({
  version: z.string().describe('Model version (a numbered subdirectory)'),
});
export type ModelVersionMetadata = z.infer<typeof ModelVersionMetadata>;
export type TensorMetadata = z.infer<typeof TensorMetadata>;
