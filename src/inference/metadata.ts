/**
 * What a model says of itself, neutral of protocol: its tensors (name, datatype, shape; -1 where any size is taken)
 * and parameters, as the inference protocol lists them, and its forward view: the inputs and outputs our forward
 * routes take and answer, with descriptions, its vocabulary, labels and layers (or graph). Each backend makes its own
 * (models/layer-metadata.ts, models/onnx/metadata.ts); frontends show the part their protocol has.
 */
import type { ModelSummary, OnnxGraphSummary } from '../../schemas/forward.js';
import type { TensorMetadata as ViewTensor } from '../../schemas/models.js';

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface ForwardView {
  readonly inputs: readonly ViewTensor[];
  readonly outputs: readonly ViewTensor[];
  readonly vocabulary: string[] | null;
  readonly labels: readonly string[] | null;
  readonly model: ModelSummary | null;
  readonly graph?: OnnxGraphSummary;
}

export interface ModelMetadata {
  readonly name: string;
  readonly version: string;
  /** The inference protocol's platform name. */
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
  /** What `inputs` does not say (the datatypes also accepted, the optional inputs, ...). */
  readonly parameters: Readonly<Record<string, string>>;
  readonly view: ForwardView;
}
