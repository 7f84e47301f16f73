/**
 * What every gRPC call goes through, as every HTTP request goes through request-log.ts, api-keys.ts and
 * metrics.ts: a request id (the client's `x-request-id` metadata when it is a sane token, else a new one; echoed
 * in the response metadata and handed to the handler in the call's metadata), its trace id (W3C `traceparent`
 * metadata), the API key check (API_KEYS: `authorization: Bearer <key>` metadata, HTTP's words; the probes, the
 * health service and reflection stay open, as HTTP's probes and API description do), one `call completed` log line
 * and the Prometheus series (grpc-metrics.ts).
 *
 * Every call's status is seen, also the ones grpc-js sends itself without the handler (a message over
 * GRPC_MAX_MESSAGE_BYTES, a deadline passed): the call this interceptor receives is grpc-js's own, which sends
 * those through its `sendStatus`, so its `sendStatus` is wrapped. The message-size refusal is reworded there to
 * name the limit's variable. A call that ends with no status was cancelled by its client.
 */
import {
  Metadata,
  type ServerInterceptingCallInterface,
  ServerInterceptingCall,
  type ServerInterceptor,
  status,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** A status as a call sends it (grpc-js's SentStatus, which its index does not export). */
type SentStatus = Parameters<ServerInterceptingCallInterface['sendStatus']>[0];
import { credentialProblem } from '../runtime/api-keys.js';
import { requestIdFor } from '../runtime/request-ids.js';
import { REQUEST_ID, markArrival } from './call-context.js';
import { type GrpcMetrics, codeName, grpcMethod } from './grpc-metrics.js';
import { problemStatus } from './status.js';

/** Methods any client may call without a key: liveness and readiness, the health service, reflection. */
export function isOpenMethod(path: string): boolean {
  return (
    path === '/inference.GRPCInferenceService/ServerLive' ||
    path === '/inference.GRPCInferenceService/ServerReady' ||
    path.startsWith('/grpc.health.v1.Health/') ||
    path.startsWith('/grpc.reflection.')
  );
}

/** `00-<trace id>-<parent id>-<flags>`: the trace id, when the header is well formed. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

const RECEIVED_TOO_LARGE = /^Received message larger than max \((\d+) vs\.? (\d+)\)$/;

/** grpc-js's refusal of a large message, in our words: the size, the limit and its variable. */
function inOurTerms(sent: SentStatus): SentStatus {
  const large = sent.code === status.RESOURCE_EXHAUSTED ? RECEIVED_TOO_LARGE.exec(sent.details ?? '') : null;
  if (large === null) return sent;
  return {
    ...sent,
    details: `the request message is ${large[1]} bytes, larger than the limit of ${large[2]} bytes (GRPC_MAX_MESSAGE_BYTES)`,
  };
}

const firstString = (metadata: Metadata, key: string): string | undefined => {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
};

export interface CallAccessOptions {
  readonly logger: Logger;
  readonly metrics: GrpcMetrics;
  /** The API keys' digests (src/runtime/api-keys.ts); none: no key is needed. */
  readonly keyDigests: readonly Buffer[];
}

export function callAccess({ logger, metrics, keyDigests }: CallAccessOptions): ServerInterceptor {
  return (definition, call: ServerInterceptingCallInterface) => {
    const started = performance.now();
    const method = grpcMethod(definition.path, definition.requestStream, definition.responseStream);
    metrics.started(method);
    let requestId = '';
    let traceId: string | undefined;
    /** Whether the response metadata (with the request id) went out; else the id goes in the trailers. */
    let echoed = false;
    let ended = false;
    const end = (code: number, details: string | undefined) => {
      if (ended) return;
      ended = true;
      const seconds = (performance.now() - started) / 1000;
      metrics.handled(method, code, seconds);
      const failed = code === status.INTERNAL || code === status.UNKNOWN;
      if (!failed && !logger.isLevelEnabled('info')) return;
      const line = {
        reqId: requestId,
        ...(traceId !== undefined ? { traceId } : {}),
        rpc: definition.path,
        code: codeName(code),
        responseTimeMs: Math.round(seconds * 1e6) / 1000,
        remoteAddress: call.getConnectionInfo().remoteAddress,
        ...(code !== status.OK && details ? { detail: details } : {}),
      };
      if (failed) logger.error(line, 'call failed');
      else logger.info(line, code === status.CANCELLED ? 'call cancelled' : 'call completed');
    };

    const sendStatus = call.sendStatus.bind(call);
    call.sendStatus = (sent: SentStatus) => {
      let told = inOurTerms(sent);
      if (requestId !== '' && !echoed) {
        const metadata = told.metadata?.clone() ?? new Metadata();
        metadata.set(REQUEST_ID, requestId);
        told = { ...told, metadata };
      }
      end(told.code, told.details);
      sendStatus(told);
    };

    const needsKey = keyDigests.length > 0 && !isOpenMethod(definition.path);
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            requestId = requestIdFor(firstString(metadata, REQUEST_ID));
            metadata.set(REQUEST_ID, requestId);
            markArrival(metadata, started);
            traceId = TRACEPARENT.exec(firstString(metadata, 'traceparent') ?? '')?.[1];
            const refusal = needsKey
              ? credentialProblem(firstString(metadata, 'authorization'), keyDigests)
              : undefined;
            if (refusal !== undefined) {
              call.sendStatus(problemStatus(refusal));
              return;
            }
            nextMetadata(metadata);
          },
          onReceiveMessage(message, nextMessage) {
            metrics.received(method);
            nextMessage(message);
          },
          onCancel() {
            end(status.CANCELLED, 'the client cancelled the call');
          },
        });
      },
      sendMetadata(metadata, next) {
        metadata.set(REQUEST_ID, requestId);
        echoed = true;
        next(metadata);
      },
      sendMessage(message, next) {
        metrics.sent(method);
        next(message);
      },
    });
  };
}
