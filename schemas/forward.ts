import { z } from 'zod';

/** The largest seed accepted: tfjs's alea seeding is exact for every integer up to here (2^31 - 2). */
export const MAX_SEED = 2147483646;

const finite = z.number().describe('A finite number, stored as float32');
const vector = z.array(finite);
const matrix = z.array(vector);

export const HELLO_INPUTS = [
  [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ],
];

export const KerasWeights = z
  .strictObject({
    kernel: matrix.describe('W, `[inputDim, hiddenSize]` (Keras layout)'),
    recurrentKernel: matrix.describe('U, `[hiddenSize, hiddenSize]` (Keras layout)'),
    bias: vector.describe('b, `[hiddenSize]`'),
  })
  .meta({
    id: 'KerasWeights',
    description: 'Explicit SimpleRNN weights in Keras layout; `hiddenSize` follows from them.',
  });

export const ForwardRequest = z
  .strictObject({
    inputs: z
      .array(z.array(vector))
      .describe(
        'The batch of sequences, `[batch][time][inputDim]`. Every sequence has the same number of steps and ' +
          'every step the same number of features.',
      ),
    hiddenSize: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Units of the layer. Required with `seed`; with `weights` it follows from them (must agree if given).'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(MAX_SEED)
      .optional()
      .describe(
        'Seed of the weights (default 0): kernel = tfjs `glorotUniform({seed})` `[inputDim, hiddenSize]`, ' +
          'recurrent kernel = tfjs `orthogonal({seed: seed + 1})`, bias = zeros. Not allowed with `weights`.',
      ),
    weights: KerasWeights.optional(),
    returnSequences: z
      .boolean()
      .default(true)
      .describe('true: `outputs` has every step, `[batch, time, hiddenSize]`; false: the last, `[batch, hiddenSize]`'),
    returnState: z.boolean().default(true).describe('Whether `states` (the final state, `[batch, hiddenSize]`) is returned'),
  })
  .meta({
    id: 'ForwardRequest',
    description: 'A batch of sequences and the SimpleRNN to run them through (seeded or explicit weights).',
    examples: [{ inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 }],
  });

export const ForwardResponse = z
  .object({
    outputs: z
      .union([z.array(matrix), matrix])
      .describe('`[batch, time, hiddenSize]`, or `[batch, hiddenSize]` when `returnSequences` is false'),
    states: matrix.optional().describe('The final state, `[batch, hiddenSize]` (when `returnState`)'),
    shapes: z
      .object({
        outputs: z.array(z.number().int()),
        states: z.array(z.number().int()).optional(),
      })
      .describe('The shape of each returned tensor'),
    model: z
      .object({
        inputDim: z.number().int(),
        hiddenSize: z.number().int(),
        seed: z.number().int().nullable().describe('The seed of the weights, or null for explicit weights'),
      })
      .describe('The model that computed this answer'),
  })
  .meta({ id: 'ForwardResponse' });

export type ForwardRequest = z.infer<typeof ForwardRequest>;
export type ForwardResponse = z.infer<typeof ForwardResponse>;
