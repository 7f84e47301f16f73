/**
 * `inference.GRPCInferenceService`: the Open Inference Protocol's RPCs over the model repository, answering what
 * the /v2 HTTP routes answer. ServerLive and ServerReady (the readiness HTTP's /v2/health/ready follows: false
 * while starting and draining), ModelReady (NOT_FOUND for an unknown model or version, with HTTP's message; else
 * whether the server is ready), ServerMetadata (GET /v2's name, version and extensions), ModelMetadata (GET
 * /v2/models/{name}'s, its parameters as KServe's `properties`), ModelInfer and ModelStreamInfer (stream-infer.ts).
 * Triton's other RPCs are not implemented (UNIMPLEMENTED).
 *
 * Handlers only translate: the request (infer-request.ts), the work (an InferExecutor, infer-adapter.ts), any
 * problem into its status (status.ts).
 */
import type { ServerDuplexStream, ServerUnaryCall, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { SERVER_EXTENSIONS, modelMetadata } from '../models/protocol-metadata.js';
import type { ModelRepository } from '../models/repository.js';
import type { Abandoned } from '../runtime/pool.js';
import { cancellation, requestIdOf } from './call-context.js';
import type { InferExecutor } from './infer-adapter.js';
import { inGrpcTerms, translateInferRequest } from './infer-request.js';
import type {
  ModelInferRequest,
  ModelInferResponse,
  ModelMetadataResponse,
  ModelNameAndVersion,
  ModelStreamInferResponse,
} from './messages.js';
import { errorStatus } from './status.js';
import { streamInfer } from './stream-infer.js';

/** Readiness as the HTTP side keeps it (src/http/plugins/readiness.ts). */
export interface ReadinessView {
  readonly ready: boolean;
  onChange(listener: (state: string) => void): () => void;
}

export interface InferenceServiceParts {
  readonly repository: ModelRepository;
  readonly readiness: ReadinessView;
  readonly infer: InferExecutor;
  readonly logger: Logger;
  readonly serverName: string;
  readonly serverVersion: string;
}

const versionOf = (version: string): string | undefined => (version === '' ? undefined : version);

export function inferenceService(parts: InferenceServiceParts): UntypedServiceImplementation {
  const { repository, readiness, logger } = parts;

  /** A unary handler from a function of the request: its value answers, its error is the call's status. */
  const unary =
    <Req, Res>(answer: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      new Promise<Res>((resolve) => resolve(answer(call.request, call))).then(
        (response) => callback(null, response),
        (error: unknown) =>
          callback(
            errorStatus(error, (err) =>
              logger.error({ reqId: requestIdOf(call), rpc: call.getPath(), err }, 'unexpected error'),
            ),
          ),
      );
    };

  /** ModelInfer's work, shared by ModelStreamInfer: translate, execute, name problems in gRPC's fields. */
  const infer = async (message: ModelInferRequest, abandoned: Abandoned): Promise<ModelInferResponse> => {
    const translated = translateInferRequest(message);
    try {
      return await parts.infer(translated, abandoned);
    } catch (error) {
      throw inGrpcTerms(error, translated.sources);
    }
  };

  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: readiness.ready })),
    ModelReady: unary((request: ModelNameAndVersion) => {
      repository.get(request.name, versionOf(request.version));
      return { ready: readiness.ready };
    }),
    ServerMetadata: unary(() => ({
      name: parts.serverName,
      version: parts.serverVersion,
      extensions: [...SERVER_EXTENSIONS],
    })),
    ModelMetadata: unary((request: ModelNameAndVersion): ModelMetadataResponse => {
      const { parameters, ...metadata } = modelMetadata(
        repository,
        repository.get(request.name, versionOf(request.version)),
      );
      return { ...metadata, properties: parameters };
    }),
    ModelInfer: unary(async (request: ModelInferRequest, call) => {
      const { abandoned, settled } = cancellation(call);
      try {
        return await infer(request, abandoned);
      } finally {
        settled();
      }
    }),
    ModelStreamInfer: (call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>) =>
      streamInfer(call, infer, logger),
  };
}
