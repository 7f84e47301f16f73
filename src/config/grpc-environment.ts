/**
 * The gRPC frontend's environment variables (the `gRPC` section of docs/configuration.md): their schemas, defaults
 * and descriptions, beside environment.ts's groups. sections.ts puts them in CONFIG_SECTIONS and ConfigFromEnv;
 * config.ts turns them into the `grpc` settings.
 */
import { z } from 'zod';

/** KServe's port for the Open Inference Protocol over gRPC (its ServingRuntimes name it `h2c`). */
export const DEFAULT_GRPC_PORT = 8081;

/**
 * GRPC_KEEPALIVE_TIME_MS: a minute of silence before the server pings (a busy connection never waits that long),
 * so a client gone without a word is found within ~80 s with the 20 s ping timeout of src/grpc/server.ts.
 */
export const DEFAULT_GRPC_KEEPALIVE_TIME_MS = 60_000;

/**
 * GRPC_FLOW_CONTROL_WINDOW_BYTES: grpc-java's servers announce 1 MiB (HTTP/2's own 64 KiB makes a client wait for
 * the server's WINDOW_UPDATE every 64 KiB of a tensor, a round trip each). A connection holds at most this much of
 * requests the server has not read yet.
 */
export const DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES = 1024 * 1024;

/** HTTP/2's bounds of a flow-control window (RFC 9113 §6.9.1, §6.5.2). */
const HTTP2_DEFAULT_WINDOW = 65_535;
const HTTP2_MAX_WINDOW = 2 ** 31 - 1;

export const grpc = {
  GRPC_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(DEFAULT_GRPC_PORT)
    .describe(
      'The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, health, reflection) on this port, ' +
        "beside HTTP on PORT (8081 is KServe's port for it); 0: no gRPC server",
    ),
  GRPC_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .meta({
      description:
        'Largest gRPC request message, in bytes: a larger one is refused with RESOURCE_EXHAUSTED, naming the limit, ' +
        'before it is read. Answers are sent whatever their size (MAX_OUTPUT_VALUES bounds them)',
      defaultText: 'BODY_LIMIT_BYTES',
    }),
  GRPC_FLOW_CONTROL_WINDOW_BYTES: z.coerce
    .number()
    .int()
    .min(HTTP2_DEFAULT_WINDOW)
    .max(HTTP2_MAX_WINDOW)
    .default(DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES)
    .describe(
      "HTTP/2 flow-control window of each gRPC call and each connection: how much of a request a client sends before the server's " +
        'acknowledgement (WINDOW_UPDATE). Large tensors arrive in fewer round trips with a larger window; a ' +
        'connection holds at most this much of requests not yet read (HTTP/2 starts at 65535)',
    ),
  GRPC_KEEPALIVE_TIME_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_GRPC_KEEPALIVE_TIME_MS)
    .describe(
      'The server pings a gRPC connection after this long without traffic and closes it when the ping goes ' +
        'unanswered for 20 s, so a client gone without a word does not hold its streams',
    ),
  GRPC_MAX_CONNECTION_AGE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(
      'gRPC connections are closed after this long (GOAWAY; calls in flight finish), so that clients reconnect ' +
        'through the load balancer and new replicas get their share of long-lived clients (0: never; the Deployment ' +
        'sets 5 minutes)',
    ),
};
