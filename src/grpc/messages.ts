/**
 * The messages of `inference.GRPCInferenceService` used here, as protos.ts reads them (the .proto's field names;
 * int64/uint64 as decimal strings; bytes as Buffers; defaults filled in; `parameter_choice` names the field set
 * in an InferParameter). What is written may use numbers for 64-bit fields and leave defaults out.
 */

export interface InferParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  double_param?: number;
  uint64_param?: string;
}

export type InferParameters = Record<string, InferParameter>;

export interface InferTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Uint8Array[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: string[];
  parameters: InferParameters;
  contents: InferTensorContents | null;
}

export interface InferRequestedOutputTensor {
  name: string;
  parameters: InferParameters;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: InferParameters;
  inputs: InferInputTensor[];
  outputs: InferRequestedOutputTensor[];
  raw_input_contents: Uint8Array[];
}

/** A parameter as written: one of the oneof's fields. */
export type InferParameterOut =
  | { bool_param: boolean }
  | { int64_param: number | string }
  | { string_param: string }
  | { double_param: number }
  | { uint64_param: number | string };

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, InferParameterOut>;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameterOut>;
  outputs: InferOutputTensor[];
  /** Each output's elements, little-endian and row-major, in `outputs` order (BYTES: each a 4-byte length, then its bytes). */
  raw_output_contents: Uint8Array[];
}

export interface ModelStreamInferResponse {
  /** Empty for an answer; the error's message, in band, for a request that failed (the stream stays open). */
  error_message: string;
  infer_response: ModelInferResponse | null;
}

export interface ModelNameAndVersion {
  name: string;
  version: string;
}

export interface TensorMetadataOut {
  name: string;
  datatype: string;
  shape: number[];
}

/** KServe's ModelMetadataResponse: Triton's fields 1 to 5, and `properties` (6). */
export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadataOut[];
  outputs: TensorMetadataOut[];
  properties: Record<string, string>;
}

/** A parameter of the repository RPCs (ModelRepositoryParameter), as read: the field set, and its value. */
export interface ModelRepositoryParameter {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  bytes_param?: Uint8Array;
}

export interface RepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

export interface RepositoryIndexResponse {
  models: { name: string; version: string; state: string; reason: string }[];
}

/** RepositoryModelLoadRequest and RepositoryModelUnloadRequest. */
export interface RepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, ModelRepositoryParameter>;
}
