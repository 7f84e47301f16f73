/**
 * The protocol definitions this frontend serves, read at start-up from the .proto files in `proto/` at the
 * repository's root, as their authors publish them: Triton's `grpc_service.proto` (KServe's
 * open_inference_grpc.proto plus Triton's own RPCs, with the same field numbers) and `model_config.proto` it
 * imports, gRPC's standard `grpc/health/v1/health.proto`, and KServe's `open_inference_grpc.proto`, whose
 * ModelMetadataResponse has the field `properties` (6) that Triton's lacks: ModelMetadata answers are written with
 * KServe's message, so KServe clients read the model's parameters there and Triton's clients skip a field they do
 * not know.
 *
 * Messages are read as plain objects with the protocol's own field names (`raw_input_contents`), 64-bit integers
 * as decimal strings (exact: no int64 is rounded on the way in), `bytes` as Buffers viewing the received message
 * (no copy), every field present (defaults filled in) and the name of the field set in each `oneof`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type PackageDefinition, loadSync } from '@grpc/proto-loader';

/** Beside the sources (`src/grpc/` → `proto/`), then from the compiled `dist/src/grpc/`. */
const CANDIDATES = [new URL('../../proto/', import.meta.url), new URL('../../../proto/', import.meta.url)];

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/** The directory holding the .proto files; a missing one stops start-up with one line saying where it was looked for. */
export function protoDirectory(): string {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(candidate);
    if (existsSync(`${dir}triton/grpc_service.proto`)) return dir;
  }
  throw new Error(
    `the .proto files of the gRPC service were not found in ${CANDIDATES.map((c) => fileURLToPath(c)).join(' or ')}; ` +
      'copy proto/ beside dist/ (see the Dockerfile)',
  );
}

export interface Protocols {
  /** The inference service and the health service, with their messages: what is served, and what reflection describes. */
  readonly served: PackageDefinition;
  /** KServe's definition of the same inference service (its ModelMetadataResponse is written by this one). */
  readonly kserve: PackageDefinition;
}

export function loadProtocols(dir = protoDirectory()): Protocols {
  return {
    served: loadSync(['grpc_service.proto', 'grpc/health/v1/health.proto'], {
      ...LOADER_OPTIONS,
      includeDirs: [`${dir}triton`, dir],
    }),
    kserve: loadSync('kserve/open_inference_grpc.proto', { ...LOADER_OPTIONS, includeDirs: [dir] }),
  };
}
