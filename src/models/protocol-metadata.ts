/**
 * What the Open Inference Protocol says about the server and its models, the same over both frontends: the
 * server's extensions (GET /v2, gRPC ServerMetadata) and a model's metadata (GET /v2/models/{name}, gRPC
 * ModelMetadata): its versions, platform, inputs and outputs, and the parameters that say what those do not.
 */
import type { ModelRepository, ServedModel } from './repository.js';
import { OIP_PLATFORM, type OipTensor, oipInputs, oipOutputs, oipParameters } from './inference-protocol.js';
import { ONNX_PLATFORM, onnxInputs, onnxOutputs, onnxParameters } from './onnx/protocol.js';

/** The protocol extensions this server implements. */
export const SERVER_EXTENSIONS: readonly string[] = ['binary_tensor_data', 'classification'];

export interface ModelMetadata {
  readonly name: string;
  /** Every version the repository serves of the model, oldest first. */
  readonly versions: string[];
  readonly platform: string;
  readonly inputs: OipTensor[];
  readonly outputs: OipTensor[];
  readonly parameters: Record<string, string>;
}

export function modelMetadata(repository: ModelRepository, served: ServedModel): ModelMetadata {
  const versions = repository.versions(served.name).map((v) => v.version);
  if (served.kind === 'onnx')
    return {
      name: served.name,
      versions,
      platform: ONNX_PLATFORM,
      inputs: onnxInputs(served.program),
      outputs: onnxOutputs(served.program),
      parameters: onnxParameters(served),
    };
  return {
    name: served.name,
    versions,
    platform: OIP_PLATFORM,
    inputs: oipInputs(served),
    outputs: oipOutputs(served),
    parameters: oipParameters(served),
  };
}
