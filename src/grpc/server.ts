/**
 * The gRPC frontend's server (@grpc/grpc-js) on GRPC_PORT: `inference.GRPCInferenceService`, the standard health
 * service and server reflection (v1 and v1alpha, so grpcurl lists and calls the service without the .proto files),
 * every call through call-access.ts, with HTTP/2 windows wide enough for tensors (flow-control.ts). It shares the
 * HTTP app's serving core, model repository, readiness, metrics registry and logger (app.ts `core` and `repository`,
 * wired by main.ts): one server state, two protocols.
 *
 * Shutdown: `close(deadlineMs)` ends health watches, stops taking calls (GOAWAY) and lets the calls in flight
 * finish; calls still open at the deadline (a stream its client keeps open) are cancelled.
 */
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Grpc } from '../config/config.js';
import type { InferenceCore } from '../core/core.js';
import type { ModelRepository } from '../models/repository.js';
import { keyDigests } from '../runtime/api-keys.js';
import { callAccess } from './call-access.js';
import { announceWindow, widenConnections } from './flow-control.js';
import { GrpcMetrics } from './grpc-metrics.js';
import { healthService } from './health.js';
import { type ReadinessView, inferenceService } from './inference-service.js';
import { HEALTH_SERVICE, INFERENCE_SERVICE, type Protocols, loadProtocols } from './protos.js';

/** How long a ping may go unanswered before its connection is closed. */
const KEEPALIVE_TIMEOUT_MS = 20_000;

export interface GrpcParts {
  /** The serving core every inference goes through, HTTP's and gRPC's alike. */
  readonly core: InferenceCore;
  readonly repository: ModelRepository;
  readonly readiness: ReadinessView;
  /** The app's metrics registry: gRPC's series are served by GET /metrics with HTTP's. */
  readonly registry: Registry;
  readonly logger: Logger;
  readonly apiKeys: readonly string[];
  readonly serverName: string;
  readonly serverVersion: string;
}

export interface GrpcServer {
  /** The port it listens on (the one asked for, or the one the system chose for 0 in tests). */
  readonly port: number;
  /** Stops taking calls and waits for those in flight, cancelling what is still open after `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}

export interface GrpcDefinitions {
  readonly protocols: Protocols;
  readonly reflection: ReflectionService;
}

let definitions: GrpcDefinitions | undefined;

/**
 * The .proto files read and the reflection descriptors built: a few hundred milliseconds of synchronous work, done
 * once per process. main.ts does it before building the app, so that the app's load shedding, which measures the
 * event loop's delay, does not see it.
 */
export function grpcDefinitions(): GrpcDefinitions {
  if (definitions === undefined) {
    const protocols = loadProtocols();
    definitions = { protocols, reflection: new ReflectionService(protocols.served) };
  }
  return definitions;
}

/** `host:port`, with an IPv6 address in brackets. */
const address = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export async function startGrpcServer(settings: Grpc, host: string, parts: GrpcParts): Promise<GrpcServer> {
  const { protocols, reflection } = grpcDefinitions();
  const metrics = new GrpcMetrics(parts.registry);
  const server = new Server({
    'grpc.max_receive_message_length': settings.maxMessageBytes,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_time_ms': settings.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    // channelz (grpc-js's own introspection service, not served here) would count every call a second time.
    'grpc.enable_channelz': 0,
    ...(settings.maxConnectionAgeMs > 0 ? { 'grpc.max_connection_age_ms': settings.maxConnectionAgeMs } : {}),
    interceptors: [callAccess({ logger: parts.logger, metrics, keyDigests: keyDigests(parts.apiKeys) })],
  });
  announceWindow(server, settings.flowControlWindowBytes);

  // ModelMetadata is answered with KServe's ModelMetadataResponse: Triton's fields and `properties` (protos.ts).
  const inference = protocols.served[INFERENCE_SERVICE] as ServiceDefinition;
  const kserve = protocols.kserve[INFERENCE_SERVICE] as ServiceDefinition;
  server.addService(
    {
      ...inference,
      ModelMetadata: { ...inference.ModelMetadata, responseSerialize: kserve.ModelMetadata.responseSerialize },
    },
    inferenceService(parts),
  );
  const health = healthService(parts.readiness);
  server.addService(protocols.served[HEALTH_SERVICE] as ServiceDefinition, health.implementation);
  reflection.addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address(host, settings.port), ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  widenConnections(server, settings.flowControlWindowBytes);
  parts.logger.info({ port }, `gRPC server listening at ${address(host, port)}`);

  return {
    port,
    close(deadlineMs) {
      health.endWatches();
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          parts.logger.warn({ deadlineMs }, 'gRPC calls still open at the shutdown deadline are cancelled');
          server.forceShutdown();
          resolve();
        }, deadlineMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
