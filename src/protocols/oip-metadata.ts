/**
 * What the Open Inference Protocol says about the server and its models, the same over both frontends: the
 * extensions the server implements (GET /v2, gRPC ServerMetadata) and a model's metadata (GET /v2/models/{name},
 * gRPC ModelMetadata) from what the model says of itself (inference/metadata.ts): its versions, platform, inputs and
 * outputs, and the parameters that say what those do not.
 */
import type { ModelMetadata } from '../inference/metadata.js';

/**
 * The protocol extensions this server implements: binary tensors after the JSON (gRPC has raw contents of its own),
 * top-K classes instead of raw outputs, and Triton's model repository API with its unload_dependents parameter.
 */
export const OIP_EXTENSIONS: readonly string[] = [
  'binary_tensor_data',
  'classification',
  'model_repository',
  'model_repository(unload_dependents)',
];

export interface OipModelMetadata {
  readonly name: string;
  /** Every version READY to serve, oldest first. */
  readonly versions: string[];
  readonly platform: string;
  readonly inputs: { name: string; datatype: string; shape: number[] }[];
  readonly outputs: { name: string; datatype: string; shape: number[] }[];
  readonly parameters: Record<string, string>;
}

/** A model's metadata as the protocol lists it, under the name the client asked for. */
export function oipModelMetadata(
  name: string,
  metadata: ModelMetadata & { readonly versions: readonly string[] },
): OipModelMetadata {
  const tensors = (list: ModelMetadata['inputs']) =>
    list.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] }));
  return {
    name,
    versions: [...metadata.versions],
    platform: metadata.platform,
    inputs: tensors(metadata.inputs),
    outputs: tensors(metadata.outputs),
    parameters: { ...metadata.parameters },
  };
}
