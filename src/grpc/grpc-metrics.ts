/**
 * Prometheus series of the gRPC frontend, in the app's registry beside HTTP's, named and labelled as the
 * grpc-ecosystem's server metrics (go-grpc-prometheus, and the dashboards written for them) name theirs: calls
 * started, calls handled by status code, handling time, and messages received and sent (more than one per call
 * on streams). Labels come from the served methods and gRPC's status codes, so their number is bounded.
 */
import { status } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

/** HTTP's latency buckets (http_request_duration_seconds), so the two protocols' latencies compare bucket by bucket. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `unary`, `client_stream`, `server_stream` or `bidi_stream`. */
export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

export interface GrpcMethod {
  readonly type: GrpcType;
  /** `inference.GRPCInferenceService` */
  readonly service: string;
  /** `ModelInfer` */
  readonly method: string;
}

const methods = new Map<string, GrpcMethod>();

/** A method's labels from its path (`/inference.GRPCInferenceService/ModelInfer`) and its streaming sides. */
export function grpcMethod(path: string, requestStream: boolean, responseStream: boolean): GrpcMethod {
  const known = methods.get(path);
  if (known !== undefined) return known;
  const [, service = '', method = ''] = path.split('/');
  const type = requestStream
    ? responseStream
      ? 'bidi_stream'
      : 'client_stream'
    : responseStream
      ? 'server_stream'
      : 'unary';
  const labels: GrpcMethod = { type, service, method };
  // Only served methods reach here (grpc-js answers others itself), so the map stays as small as the services.
  methods.set(path, labels);
  return labels;
}

/** `NOT_FOUND` for 5: the code's name, as clients print it. */
export const codeName = (code: number): string => status[code] ?? String(code);

export class GrpcMetrics {
  readonly #started: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  readonly #handled: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  readonly #handling: Histogram<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  readonly #received: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  readonly #sent: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;

  constructor(registry: Registry) {
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    const registers = [registry];
    this.#started = new Counter({
      name: 'grpc_server_started_total',
      help: 'gRPC calls started',
      labelNames,
      registers,
    });
    this.#handled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'gRPC calls completed, by status code (CANCELLED: the client went away)',
      labelNames: [...labelNames, 'grpc_code'],
      registers,
    });
    this.#handling = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Time from receiving a gRPC call to its status, by status code',
      labelNames: [...labelNames, 'grpc_code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#received = new Counter({
      name: 'grpc_server_msg_received_total',
      help: 'Request messages received by gRPC calls',
      labelNames,
      registers,
    });
    this.#sent = new Counter({
      name: 'grpc_server_msg_sent_total',
      help: 'Response messages sent by gRPC calls',
      labelNames,
      registers,
    });
  }

  started(method: GrpcMethod): void {
    this.#started.inc(labelsOf(method));
  }

  handled(method: GrpcMethod, code: number, seconds: number): void {
    const labels = { ...labelsOf(method), grpc_code: codeName(code) };
    this.#handled.inc(labels);
    this.#handling.observe(labels, seconds);
  }

  received(method: GrpcMethod): void {
    this.#received.inc(labelsOf(method));
  }

  sent(method: GrpcMethod): void {
    this.#sent.inc(labelsOf(method));
  }
}

const labelsOf = ({ type, service, method }: GrpcMethod) => ({
  grpc_type: type,
  grpc_service: service,
  grpc_method: method,
});
