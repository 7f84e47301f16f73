import { z } from 'zod';
import { ACTIVATION_NAMES, DEFAULT_ACTIVATION } from '../src/engine/activations.js';
import {
  CELL_NAMES,
  DEFAULT_CELL,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  DEFAULT_UNIT_FORGET_BIAS,
} from '../src/engine/cells.js';
import { MERGE_MODES } from '../src/engine/network.js';

/** The largest seed accepted: tfjs's alea seeding is exact for every integer up to here (2^31 - 2). */
export const MAX_SEED = 2147483646;
/** The seed of a request that gives neither a seed nor explicit weights. */
export const DEFAULT_SEED = 0;
/** How `states` (and `cellStates`) are laid out when a request does not say. */
export const DEFAULT_STATE_LAYOUT = 'keras';

const finite = z.number().describe('A finite number, stored as float32');
const vector = z.array(finite);
const matrix = z.array(vector);
const tensor3 = z.array(matrix);

const oneHot = (c: string) => [...'helo'].map((x) => (x === c ? 1 : 0));
export const HELLO_INPUTS = [[...'hello'].map(oneHot)];
export const HELLO_BATCH_INPUTS = ['hello', 'eolll', 'lleel'].map((word) => [...word].map(oneHot));

/** A row-major tensor, as in the Open Inference Protocol (KServe v2): `data` holds the elements in order. */
export const FlatTensor = z
  .strictObject({
    shape: z.array(z.number().int().min(0)).describe('The dimensions, outermost first'),
    data: vector.describe('The elements in row-major order; as many as the product of `shape`'),
  })
  .meta({
    id: 'FlatTensor',
    description: 'A row-major tensor: `shape` and its elements in `data` (Open Inference Protocol style)',
  });

// ---- the model: one layer (shorthand fields) or a stack, optionally bidirectional, seeded or explicit

const hiddenSize = z.number().int().min(1).describe('Units of the layer');
const activation = z
  .enum(ACTIVATION_NAMES)
  .describe(`Activation, as TF.js defines it (default \`${DEFAULT_ACTIVATION}\`)`);
const useBias = z
  .boolean()
  .describe('Whether the layer has a bias (default true; false for a `pytorchWeights` state_dict without biases)');
const goBackwards = z
  .boolean()
  .describe(
    'Process each sequence last step first; outputs stay in processing order (Keras `go_backwards`, default false)',
  );
const clip = z.number().positive().describe('ONNX `clip`: clamp the pre-activation to [-clip, clip] (default: none)');
const cell = z
  .enum(CELL_NAMES)
  .describe(
    `The recurrent cell (default \`${DEFAULT_CELL}\`): \`simpleRNN\`, \`lstm\` (gates i, f, c, o) or \`gru\` (gates z, r, h)`,
  );
const recurrentActivation = z
  .enum(ACTIVATION_NAMES)
  .describe(
    `lstm and gru: the gates' activation (default \`${DEFAULT_RECURRENT_ACTIVATION}\`; TF.js defaults to \`hardSigmoid\`)`,
  );
const unitForgetBias = z
  .boolean()
  .describe(
    `lstm: seeded weights start the forget gate's bias at 1 (Keras \`unit_forget_bias\`, default ${DEFAULT_UNIT_FORGET_BIAS})`,
  );
const resetAfter = z
  .boolean()
  .describe(
    `gru (default ${DEFAULT_RESET_AFTER}): true applies the reset gate after the recurrent product (Keras 3, PyTorch, ` +
      'ONNX `linear_before_reset = 1`; bias `[2, 3·hiddenSize]`); false, before it (TF.js, bias `[3·hiddenSize]`)',
  );

export const LayerSpec = z
  .strictObject({
    hiddenSize,
    activation: activation.optional(),
    useBias: useBias.optional(),
    goBackwards: goBackwards.optional(),
    clip: clip.optional(),
    cell: cell.optional(),
    recurrentActivation: recurrentActivation.optional(),
    unitForgetBias: unitForgetBias.optional(),
    resetAfter: resetAfter.optional(),
  })
  .meta({ id: 'LayerSpec', description: 'One recurrent layer of a stack' });

export const KerasCellWeights = z
  .strictObject({
    kernel: matrix.describe('W, `[inputDim, G·hiddenSize]` (G gates: 1 simpleRNN, 4 lstm, 3 gru)'),
    recurrentKernel: matrix.describe('U, `[hiddenSize, G·hiddenSize]`'),
    bias: z
      .union([vector, matrix])
      .optional()
      .describe(
        'b, `[G·hiddenSize]` (`[2, 3·hiddenSize]` for a gru with resetAfter: input bias, recurrent bias); ' +
          'required when the layer uses a bias, absent when not',
      ),
  })
  .meta({ id: 'KerasCellWeights', description: 'The weights of one layer and direction, Keras layout' });

export const OnnxRnnWeights = z
  .strictObject({
    W: tensor3.describe('`[directions, G·hiddenSize, inputDim]` (ONNX gate order: lstm i, o, f, c; gru z, r, h)'),
    R: tensor3.describe('`[directions, G·hiddenSize, hiddenSize]`'),
    B: matrix.optional().describe('`[directions, 2·G·hiddenSize]`: input bias then recurrent bias'),
    P: matrix
      .optional()
      .describe('lstm: peepholes `[directions, 3·hiddenSize]`; only all zeros (no peepholes) is accepted'),
  })
  .meta({
    id: 'OnnxRnnWeights',
    description:
      "The inputs W, R, B (and P) of one ONNX `RNN`, `LSTM` or `GRU` node (one layer); a gru's resetAfter is " +
      'its `linear_before_reset`',
  });

export const ModelFields = {
  hiddenSize: hiddenSize
    .optional()
    .describe('Units of a single-layer model (with `weights` it follows from them and must agree if given)'),
  activation: activation.optional(),
  useBias: useBias.optional(),
  goBackwards: goBackwards.optional(),
  clip: clip.optional(),
  cell: cell.optional(),
  recurrentActivation: recurrentActivation.optional(),
  unitForgetBias: unitForgetBias.optional(),
  resetAfter: resetAfter.optional(),
  layers: z
    .array(LayerSpec)
    .optional()
    .describe('A stack of layers, each feeding its full sequence to the next; replaces the single-layer fields'),
  bidirectional: z
    .strictObject({
      mergeMode: z
        .enum(MERGE_MODES)
        .nullable()
        .default('concat')
        .describe('How the two directions are merged (Keras `merge_mode`); null returns both, forward first'),
    })
    .optional()
    .describe('Wrap every layer in Keras `Bidirectional`'),
  seed: z
    .number()
    .int()
    .min(0)
    .max(MAX_SEED)
    .optional()
    .describe(
      `Seed of the weights (default ${DEFAULT_SEED}). Layer k, direction d (0 forward, 1 backward): kernel = tfjs ` +
        '`glorotUniform({seed: seed + 4k + 2d})`, recurrent kernel = tfjs `orthogonal({seed: seed + 4k + 2d + 1})`, ' +
        'bias = zeros. Not allowed with explicit weights.',
    ),
  weights: z
    .union([KerasCellWeights, z.array(KerasCellWeights)])
    .optional()
    .describe(
      'Explicit weights, Keras layout: one cell for a single layer, or a list in the order layer 0 forward, ' +
        'layer 0 backward (bidirectional only), layer 1 forward, ... (the order of Keras `get_weights()`)',
    ),
  pytorchWeights: z
    .record(z.string(), z.union([matrix, vector]))
    .optional()
    .describe(
      'Explicit weights as a PyTorch `nn.RNN` state_dict: `weight_ih_l{k}[_reverse]` `[hidden, input]`, ' +
        '`weight_hh_l{k}[_reverse]` `[hidden, hidden]`, `bias_ih_l{k}[_reverse]` and `bias_hh_l{k}[_reverse]` `[hidden]` ' +
        '(summed). A state_dict without bias entries (`nn.RNN(bias=False)`) means `useBias: false`. ' +
        '`nn.LSTM` / `nn.GRU` (with `cell`): the same keys with G·hidden rows in PyTorch gate order ' +
        '(lstm i, f, g, o; gru r, z, n)',
    ),
  onnxWeights: z
    .array(OnnxRnnWeights)
    .optional()
    .describe('Explicit weights as ONNX `RNN` (`LSTM`, `GRU` with `cell`) inputs, one node per layer'),
};

/**
 * When a request runs, as Triton's schedule policy has it: its priority level and the longest it may wait for its
 * turn. The Open Inference Protocol carries the same as the request parameters `priority` and `timeout` (µs).
 */
export const ScheduleFields = {
  priority: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'Priority level: 1 is served first, larger numbers later; 0 or absent: the default level (the queue serves ' +
        "levels in order, and arrivals within one; Triton's `priority`)",
    ),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'The longest this request may wait in the queue for its turn, in milliseconds (default QUEUE_TIMEOUT_MS). A ' +
        'request whose turn would come later is answered 503 at once; one still waiting at its deadline is answered ' +
        "503 then, and computes nothing (Triton's `timeout`, here in ms)",
    ),
};

export const ForwardRequest = z
  .strictObject({
    inputs: z
      .union([z.array(z.array(vector)), FlatTensor])
      .optional()
      .describe(
        '`[batch][time][inputDim]` as nested arrays, or a flat tensor `{shape: [batch, time, inputDim], data}`. ' +
          'Nested sequences may have different lengths (a ragged batch): they are padded and masked; every step ' +
          'has the same number of features. Required unless `text` is given.',
      ),
    text: z
      .array(z.union([z.string(), z.array(z.string())]))
      .optional()
      .describe(
        'Instead of `inputs`: a batch of texts, each a string (one token per character) or an array of tokens. ' +
          'Each token becomes a one-hot vector in `vocabulary` order; texts of different lengths are a ragged batch.',
      ),
    vocabulary: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe(
        'With `text`: the tokens in one-hot order, as a string of characters or an array of tokens. Default: ' +
          'the order of first appearance across the texts (`hello` gives h, e, l, o).',
      ),
    ...ModelFields,
    initialState: z
      .union([matrix, z.array(matrix)])
      .optional()
      .describe(
        'Initial state, `[batch, hiddenSize]` for a single unidirectional layer; otherwise a list of them, one per ' +
          'layer and direction (layer 0 forward, layer 0 backward, layer 1 forward, ...): PyTorch `h0` ' +
          '`[layers·directions, batch, hiddenSize]`, which is also accepted for a single layer. Default zeros.',
      ),
    initialCellState: z
      .union([matrix, z.array(matrix)])
      .optional()
      .describe(
        'lstm: the initial cell state c, as `initialState` but one per LSTM layer and direction only (in state ' +
          'order; a mixed stack skips its other layers): PyTorch `c0`. Default zeros.',
      ),
    lengths: z
      .array(z.number().int().min(0))
      .optional()
      .describe('`[batch]`: valid steps of each right-padded sequence (steps past it are masked)'),
    mask: z
      .array(z.array(z.boolean()))
      .optional()
      .describe('`[batch][time]`: false masks a step (Keras masking: the state is carried across it)'),
    zeroOutputForMask: z
      .boolean()
      .default(false)
      .describe('Masked steps output zeros instead of repeating the state (Keras `zero_output_for_mask`)'),
    returnSequences: z
      .boolean()
      .default(true)
      .describe('true: `outputs` has every step, `[batch, time, features]`; false: the last, `[batch, features]`'),
    returnState: z.boolean().default(true).describe('Whether `states` is returned'),
    stateLayout: z
      .enum(['keras', 'pytorch'])
      .optional()
      .describe(
        `\`keras\`: \`states\` is \`[batch, hiddenSize]\` for a single unidirectional layer, else a list of them; ` +
          "`pytorch`: one tensor `[layers·directions, batch, hiddenSize]`, PyTorch's `h_n` (every layer the same size). " +
          `Default \`${DEFAULT_STATE_LAYOUT}\``,
      ),
    topK: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Adds `classes`: the K largest output features of each output row (each step, or the last without ' +
          '`returnSequences`), largest first. On /rnn/forward the scores are the raw outputs (no softmax is ' +
          'applied); on a served model only when its last layer is softmax (an ONNX graph: when its first output is ' +
          "written by Softmax or LogSoftmax over its last axis). K is at most the outputs' features",
      ),
    outputFormat: z
      .enum(['nested', 'flat'])
      .default('nested')
      .describe(
        '`nested`: arrays of arrays; `flat`: each tensor as `{shape, data}` (row-major), cheaper for large answers',
      ),
    ...ScheduleFields,
  })
  .meta({
    id: 'ForwardRequest',
    description: 'A batch of sequences and the recurrent model (SimpleRNN, LSTM or GRU) to run them through.',
    examples: [
      { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 },
      { text: ['h'], vocabulary: 'helo', hiddenSize: 2, seed: 42 },
      { text: ['hello'], hiddenSize: 2, seed: 42 },
      { text: ['hello', 'eolll', 'lleel'], hiddenSize: 2, seed: 42 },
      { text: ['hello'], hiddenSize: 2, seed: 42, cell: 'lstm' },
    ],
  });

const shape = z.array(z.number().int());

export const ModelSummary = z
  .object({
    inputDim: z.number().int(),
    hiddenSize: z.number().int().describe('Units of the last layer'),
    seed: z.number().int().nullable().describe('The seed of the weights, or null for explicit weights'),
    layers: z.array(
      z.object({
        hiddenSize: z.number().int(),
        activation: z.enum(ACTIVATION_NAMES),
        useBias: z.boolean(),
        goBackwards: z.boolean(),
        clip: z.number().nullable(),
        cell: z.enum(CELL_NAMES).optional().describe('Given only for layers that are not simpleRNN'),
        recurrentActivation: z.enum(ACTIVATION_NAMES).optional().describe('lstm and gru'),
        unitForgetBias: z.boolean().optional().describe('lstm'),
        resetAfter: z.boolean().optional().describe('gru'),
        bidirectional: z
          .object({ mergeMode: z.enum(MERGE_MODES).nullable() })
          .nullable()
          .optional()
          .describe(
            "This layer's wrapping (null: unidirectional), given only when the layers are wrapped differently " +
              '(an imported model mixing plain and Bidirectional layers); otherwise `bidirectional` says it for all',
          ),
      }),
    ),
    bidirectional: z
      .object({ mergeMode: z.enum(MERGE_MODES).nullable() })
      .nullable()
      .describe("Every layer's wrapping (null: unidirectional, or wrapped layer by layer: `layers[k].bidirectional`)"),
  })
  .meta({ id: 'ModelSummary', description: 'The model that computed this answer, every default filled in' });

export const ClassScore = z
  .object({
    score: z.number().describe('The output value (a probability for a softmax layer)'),
    index: z.number().int().describe('The output feature (class) index'),
    label: z.string().optional().describe('The class label, when the served model has labels (labels.txt)'),
  })
  .meta({ id: 'ClassScore', description: 'One of the top K classes of an output row' });

export const OnnxGraphSummary = z
  .object({
    opset: z.number().int().describe('The default-domain opset the graph was exported with'),
    producer: z.string().describe('producer_name and producer_version of the file (`pytorch 1.13.0`)'),
    nodes: z.number().int(),
    operators: z.array(z.string()).describe('The operators the graph uses, sorted'),
  })
  .meta({ id: 'OnnxGraphSummary', description: 'An ONNX model (`model.onnx`): its graph' });

export const ForwardResponse = z
  .object({
    outputs: z
      .union([z.array(tensor3), tensor3, matrix, FlatTensor])
      .describe(
        '`[batch, time, features]` (`[batch, features]` without `returnSequences`); with mergeMode null ' +
          '`[2, batch, ...]`, forward first',
      ),
    states: z
      .union([matrix, z.array(matrix), FlatTensor, z.array(FlatTensor)])
      .optional()
      .describe(
        'Final states: `[batch, hiddenSize]` for a single unidirectional layer, otherwise one per layer and ' +
          'direction; with `stateLayout: pytorch` one tensor `[layers·directions, batch, hiddenSize]`',
      ),
    cellStates: z
      .union([matrix, z.array(matrix), FlatTensor, z.array(FlatTensor)])
      .optional()
      .describe(
        'With an LSTM layer and `returnState`: the final cell states c, structured as `states` but one per LSTM ' +
          'layer and direction only (a mixed stack skips its other layers); with `stateLayout: pytorch` `c_n`',
      ),
    classes: z
      .union([z.array(z.array(ClassScore)), z.array(z.array(z.array(ClassScore)))])
      .optional()
      .describe(
        'With `topK`: the top K of each output row, largest score first, `[batch, time, K]` (`[batch, K]` without ' +
          '`returnSequences`)',
      ),
    vocabulary: z.array(z.string()).optional().describe('With `text`: the tokens in one-hot order'),
    shapes: z
      .object({
        inputs: shape.describe('`[batch, time, inputDim]` of the inputs the model ran on (one-hot for `text`)'),
        outputs: shape,
        states: z.union([shape, z.array(shape)]).optional(),
        cellStates: z.union([shape, z.array(shape)]).optional(),
        classes: shape.optional().describe('With `topK`'),
      })
      .describe('The shape of each returned tensor'),
    model: ModelSummary,
  })
  .meta({ id: 'ForwardResponse' });

/**
 * POST /models/{name}/forward for an ONNX model: `outputs` is the graph's first output, `states` its second when
 * that is `[layers · directions, batch, hidden]` (torch's h_n), and the graph in place of the layers.
 */
export const OnnxForwardResponse = ForwardResponse.extend({
  outputs: z
    .union([z.array(tensor3), tensor3, matrix, FlatTensor])
    .describe("The graph's first output (nested up to 4 dimensions; flat with `outputFormat: flat`)"),
  states: z
    .union([matrix, z.array(matrix), FlatTensor, z.array(FlatTensor)])
    .optional()
    .describe(
      "The graph's second output when it is `[k, batch, hidden]`: one `[batch, hidden]` per k (one matrix for k = 1)",
    ),
  model: z.null().describe('null: an ONNX model has no layer description (see `graph`)'),
  graph: OnnxGraphSummary,
}).meta({ id: 'OnnxForwardResponse' });

export type ForwardRequest = z.infer<typeof ForwardRequest>;
export type ForwardResponse = z.infer<typeof ForwardResponse>;
export type ModelSummary = z.infer<typeof ModelSummary>;
export type OnnxGraphSummary = z.infer<typeof OnnxGraphSummary>;
export type KerasCellWeights = z.infer<typeof KerasCellWeights>;
