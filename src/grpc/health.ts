/**
 * `grpc.health.v1.Health`, gRPC's standard health service, which Kubernetes' `grpc:` probes and grpc_health_probe
 * call: SERVING while the server is ready (as HTTP's /readyz answers 200), NOT_SERVING while it is starting or
 * draining, for the service "" (the server) and `inference.GRPCInferenceService`. Check answers NOT_FOUND for any
 * other service; Watch sends the status at once and again at each change (SERVICE_UNKNOWN for another service),
 * until the client cancels or the server shuts down.
 */
import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { quoted } from '../errors/problem-error.js';
import type { ReadinessView } from './inference-service.js';
import { INFERENCE_SERVICE } from './protos.js';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: ServingStatus;
}

/** The services whose health is the server's readiness. */
export const HEALTH_CHECKED_SERVICES: readonly string[] = ['', INFERENCE_SERVICE];

export interface HealthService {
  readonly implementation: UntypedServiceImplementation;
  /** Ends every Watch (at shutdown: a watch never ends by itself, and the server waits for its calls). */
  endWatches(): void;
}

export function healthService(readiness: ReadinessView): HealthService {
  const statusOf = (service: string): ServingStatus =>
    !HEALTH_CHECKED_SERVICES.includes(service) ? 'SERVICE_UNKNOWN' : readiness.ready ? 'SERVING' : 'NOT_SERVING';
  const watches = new Set<() => void>();

  const check = (
    call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
    callback: sendUnaryData<HealthCheckResponse>,
  ) => {
    const serving = statusOf(call.request.service);
    if (serving === 'SERVICE_UNKNOWN')
      callback({
        code: status.NOT_FOUND,
        details: `the service ${quoted(call.request.service)} is not known here; ask for "" (the server) or "${INFERENCE_SERVICE}"`,
      });
    else callback(null, { status: serving });
  };

  const watch = (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
    const service = call.request.service;
    let sent = statusOf(service);
    call.write({ status: sent });
    const stopListening = readiness.onChange(() => {
      const now = statusOf(service);
      if (now !== sent) call.write({ status: now });
      sent = now;
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      stopListening();
      watches.delete(end);
      if (!call.cancelled) call.end();
    };
    watches.add(end);
    call.once('cancelled', end);
  };

  return {
    implementation: { Check: check, Watch: watch },
    endWatches() {
      for (const end of [...watches]) end();
    },
  };
}
