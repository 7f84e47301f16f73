import { z } from 'zod';
import { KerasCellWeights, ModelFields, ModelSummary, OnnxRnnWeights } from './forward.js';

export const WeightsRequest = z
  .strictObject({
    inputDim: z.number().int().min(1).describe('Features of each input step'),
    ...ModelFields,
  })
  .meta({
    id: 'WeightsRequest',
    description: 'A model description, as POST /rnn/forward takes it, without inputs, plus inputDim',
    examples: [{ inputDim: 4, hiddenSize: 2, seed: 42 }],
  });

export const WeightsResponse = z
  .object({
    model: ModelSummary,
    keras: z
      .array(KerasCellWeights)
      .describe(
        'Keras layout, one cell per layer and direction (layer 0 forward, layer 0 backward, layer 1 forward, ...); send it back as `weights`',
      ),
    pytorch: z
      .record(z.string(), z.union([z.array(z.array(z.number())), z.array(z.number())]))
      .nullable()
      .describe(
        'PyTorch `nn.RNN` / `nn.LSTM` / `nn.GRU` state_dict in PyTorch gate order (bias_hh zeros but for a gru: the ' +
          'whole bias is in bias_ih); send it back as `pytorchWeights`. null for a gru with resetAfter false, which ' +
          'PyTorch cannot express',
      ),
    onnx: z
      .array(OnnxRnnWeights)
      .describe(
        "ONNX `RNN` / `LSTM` / `GRU` inputs W, R, B in ONNX gate order, one node per layer (a gru's " +
          '`linear_before_reset` is its resetAfter); send it back as `onnxWeights`',
      ),
    digest: z
      .object({
        algorithm: z.literal('sha256'),
        value: z.string().describe('Lowercase hex'),
        covers: z.string().describe('What was hashed, in which order'),
      })
      .describe('A content digest of the weights: equal digests, identical models'),
  })
  .meta({ id: 'WeightsResponse' });

export type WeightsRequest = z.infer<typeof WeightsRequest>;
export type WeightsResponse = z.infer<typeof WeightsResponse>;
