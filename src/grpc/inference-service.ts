/**
 * `inference.GRPCInferenceService`: the Open Inference Protocol's RPCs over the serving core, answering what the /v2
 * HTTP routes answer. ServerLive and ServerReady (the readiness HTTP's /v2/health/ready follows: false while
 * starting and draining), ModelReady (NOT_FOUND for an unknown model or version, with HTTP's message; else whether
 * the server is ready), ServerMetadata (GET /v2's name, version and extensions), ModelMetadata (GET
 * /v2/models/{name}'s, its parameters as KServe's `properties`), ModelInfer (a unary call, call-sink.ts),
 * ModelStreamInfer (stream-infer.ts), and the repository RPCs (repository-rpcs.ts). Triton's other RPCs are not
 * implemented (UNIMPLEMENTED).
 *
 * Handlers only translate: the request once (infer-request.ts) into the core's inference request, the core's answer
 * into a ModelInferResponse (protocols/oip-grpc-answer.ts, written where the pass ran), any problem into its status
 * (status.ts).
 */
import type { ServerDuplexStream, ServerUnaryCall, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { InferenceCore } from '../core/core.js';
import type { ModelRepository } from '../models/repository.js';
import { OIP_EXTENSIONS, oipModelMetadata } from '../protocols/oip-metadata.js';
import { requestIdOf } from './call-context.js';
import { UnaryCallSink } from './call-sink.js';
import { translateInferRequest } from './infer-request.js';
import type {
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataResponse,
  ModelNameAndVersion,
  ModelStreamInferResponse,
} from './messages.js';
import { repositoryRpcs } from './repository-rpcs.js';
import { errorStatus } from './status.js';
import { streamInfer } from './stream-infer.js';

/** Readiness as the HTTP side keeps it (src/http/plugins/readiness.ts). */
export interface ReadinessView {
  readonly ready: boolean;
  onChange(listener: (state: string) => void): () => void;
}

export interface InferenceServiceParts {
  readonly core: InferenceCore;
  readonly repository: ModelRepository;
  readonly readiness: ReadinessView;
  readonly logger: Logger;
  readonly serverName: string;
  readonly serverVersion: string;
}

const versionOf = (version: string): string | undefined => (version === '' ? undefined : version);

export function inferenceService(parts: InferenceServiceParts): UntypedServiceImplementation {
  const { core, readiness, logger } = parts;
  const repository = repositoryRpcs(parts.repository);

  /** A unary handler from a function of the request: its value answers, its error is the call's status. */
  const unary =
    <Req, Res>(answer: (request: Req) => Res | Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      new Promise<Res>((resolve) => resolve(answer(call.request))).then(
        (response) => callback(null, response),
        (error: unknown) =>
          callback(
            errorStatus(error, (err) =>
              logger.error({ reqId: requestIdOf(call), rpc: call.getPath(), err }, 'unexpected error'),
            ),
          ),
      );
    };

  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: readiness.ready })),
    ModelReady: unary((request: ModelNameAndVersion) => {
      core.metadata(request.name, versionOf(request.version));
      return { ready: readiness.ready };
    }),
    ServerMetadata: unary(() => ({
      name: parts.serverName,
      version: parts.serverVersion,
      extensions: [...OIP_EXTENSIONS],
    })),
    ModelMetadata: unary((request: ModelNameAndVersion): ModelMetadataResponse => {
      const { parameters, ...metadata } = oipModelMetadata(
        request.name,
        core.metadata(request.name, versionOf(request.version)),
      );
      return { ...metadata, properties: parameters };
    }),
    ModelInfer: (
      call: ServerUnaryCall<ModelInferRequest, ModelInferResponse>,
      callback: sendUnaryData<ModelInferResponse>,
    ) => {
      let translated: ReturnType<typeof translateInferRequest>;
      try {
        translated = translateInferRequest(call.request);
      } catch (error) {
        new UnaryCallSink(call, callback, [], logger).fail(error);
        return;
      }
      core.infer(
        translated.request,
        translated.encoding,
        new UnaryCallSink(call, callback, translated.sources, logger),
      );
    },
    ModelStreamInfer: (call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>) =>
      streamInfer(call, core, logger),
    RepositoryIndex: unary(repository.index),
    RepositoryModelLoad: unary(repository.load),
    RepositoryModelUnload: unary(repository.unload),
  };
}
