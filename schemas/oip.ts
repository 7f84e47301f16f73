/**
 * The Open Inference Protocol (KServe v2) over REST, as its specification writes the JSON objects
 * ($metadata_server_response, $metadata_model_response, $inference_request, $inference_response,
 * $inference_error_response). Field names are the protocol's (snake_case), not ours.
 */
import { z } from 'zod';

export const OIP_DATATYPE = 'FP32';

/**
 * $parameters: name → string, number or boolean. Read here: the binary tensor data extension's
 * `binary_data_size` (an input's bytes after the JSON header), `binary_data` (an output wanted as binary) and
 * `binary_data_output` (every output as binary); any other is ignored.
 */
const Parameters = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .describe(
    'Protocol parameters: `binary_data_size` (inputs), `binary_data` (outputs), `binary_data_output` (the request), as the binary tensor data extension defines them; `classification` (outputs: the top K classes as BYTES `score:index:label`, the classification extension); others are ignored',
  );

const numbers = z.array(z.number());
/** The inputs are at most 3-dimensional: their data is flat, or nested up to 3 levels. */
const TensorData = z.union([numbers, z.array(numbers), z.array(z.array(numbers))]).meta({
  id: 'OipTensorData',
  description: 'The elements in row-major order: flat, or nested in the natural multi-dimensional form',
});

export const OipServerMetadata = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'OipServerMetadata', description: 'Open Inference Protocol $metadata_server_response' });

export const OipTensorMetadata = z
  .object({
    name: z.string(),
    datatype: z.string(),
    shape: z.array(z.number().int()).describe('-1 for a variable-size dimension'),
  })
  .meta({ id: 'OipTensorMetadata', description: 'Open Inference Protocol $metadata_tensor' });

export const OipModelMetadata = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(OipTensorMetadata),
    outputs: z.array(OipTensorMetadata),
    parameters: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'What `inputs` does not say: `input_datatypes` (the datatypes `input` also accepts), `optional_inputs` (the inputs a request may add)',
      ),
  })
  .meta({ id: 'OipModelMetadata', description: 'Open Inference Protocol $metadata_model_response' });

export const OipModelReady = z
  .object({ name: z.string(), ready: z.boolean() })
  .meta({ id: 'OipModelReady', description: 'Model readiness (the status code carries it: 200 ready)' });

export const OipInferenceRequest = z
  .strictObject({
    id: z.string().optional().describe('Returned in the response'),
    parameters: Parameters.optional(),
    inputs: z
      .array(
        z.strictObject({
          name: z
            .string()
            .describe('`input`, or an optional input: `lengths`, `initial_state` (`initial_state_0`, ...)'),
          shape: z.array(z.number().int().min(0)).describe('`[batch, time, inputDim]` for `input`'),
          datatype: z.string().describe('`FP32` (also `FP64`, `FP16`; `INT64`, `INT32` for token ids)'),
          parameters: Parameters.optional(),
          data: TensorData.optional().describe('Absent when the tensor is binary (`parameters.binary_data_size`)'),
        }),
      )
      .describe('`input`, and optionally `lengths` and the initial states'),
    outputs: z
      .array(z.strictObject({ name: z.string(), parameters: Parameters.optional() }))
      .optional()
      .describe('The outputs to return, by name (default: all)'),
  })
  .meta({
    id: 'OipInferenceRequest',
    description: 'Open Inference Protocol $inference_request',
    examples: [{ inputs: [{ name: 'input', shape: [1, 2, 4], datatype: 'FP32', data: [1, 0, 0, 0, 0, 1, 0, 0] }] }],
  });
export type OipInferenceRequest = z.infer<typeof OipInferenceRequest>;

export const OipInferenceResponse = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    outputs: z.array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int()),
        datatype: z.string(),
        parameters: z
          .object({ binary_data_size: z.number().int() })
          .optional()
          .describe('For a binary output: its bytes after the JSON header'),
        data: z
          .union([z.array(z.number()), z.array(z.string())])
          .optional()
          .describe(
            'Row-major, flat; absent for a binary output. Strings for a classification (BYTES): `score:index:label`',
          ),
      }),
    ),
  })
  .meta({ id: 'OipInferenceResponse', description: 'Open Inference Protocol $inference_response' });
export type OipInferenceResponse = z.infer<typeof OipInferenceResponse>;

export const OipError = z.object({ error: z.string().describe('What went wrong') }).meta({
  id: 'OipError',
  description: 'Open Inference Protocol error response ($inference_error_response and the like)',
});

/** A documented error of an Open Inference Protocol route: `{"error": ...}` as application/json. */
export const oipErrorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: OipError } },
});
