/**
 * Settings, read once from the environment by `main.ts` and handed to `buildApp`. Every limit a request can hit is
 * here; the environment variables they come from, with their defaults and descriptions, are in environment.ts,
 * grpc-environment.ts and tracing.ts (docs/configuration.md is generated from them, in the order of sections.ts).
 */
import type { z } from 'zod';
import { ConfigFromEnv } from './sections.js';
import { TRACING_SECRETS, type TracingSettings, tracingSettings } from './tracing.js';

export { ConfigFromEnv, CONFIG_SECTIONS } from './sections.js';
export {
  DEFAULT_CONNECTION_TIMEOUT_MS,
  DEFAULT_MAX_INPUT_VALUES,
  DEFAULT_MAX_OUTPUT_VALUES,
  DEFAULT_POOL_MIN_BODY_BYTES,
  DEFAULT_POOL_MIN_COMPUTE,
  DEFAULT_POOL_NICE,
  DEFAULT_POOL_THREADS,
  DEFAULT_POOL_MAX_QUEUE,
  DEFAULT_QUEUE_TIMEOUT_MS,
  DEFAULT_PRIORITY_LEVELS,
  DEFAULT_PRIORITY_LEVEL,
  DEFAULT_BATCH_MAX_ROWS,
  DEFAULT_SEQUENCE_IDLE_MS,
  DEFAULT_SEQUENCE_MAX,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_REDIS_KEY_PREFIX,
  SERVICE_NAME,
} from './environment.js';
export {
  DEFAULT_GRPC_PORT,
  DEFAULT_GRPC_KEEPALIVE_TIME_MS,
  DEFAULT_GRPC_FLOW_CONTROL_WINDOW_BYTES,
} from './grpc-environment.js';
export type { TracingSettings } from './tracing.js';

/** The worker pool for large forward passes (src/runtime/pool.ts). */
export interface PoolSettings {
  /** Worker threads; 0 runs everything inline. */
  readonly threads: number;
  /** Plans costing at least this many multiply-adds run on a worker. */
  readonly minCompute: number;
  /** Requests waiting for a worker beyond which new ones are refused (503). */
  readonly maxQueue: number;
  /** POST /rnn/forward bodies of at least this many bytes are parsed and validated on a worker too; 0 = never. */
  readonly minBodyBytes: number;
  /** The workers' nice value (0-19; 0 leaves them as the process is). */
  readonly nice: number;
  /**
   * Each worker's V8 heap limit in MiB (resourceLimits), 0 = Node's default. Off by default: on Node 24 a worker
   * that reaches its limit takes the whole process down while its isolate is disposed (a fatal "heap out of
   * memory" in the main process, seen with Node 24.22), so the cap would turn one request's failure into every
   * request's. Requests are bounded by the memory budget instead; a worker that fails otherwise is replaced and
   * its request answered 503 (worker-failed).
   */
  readonly maxHeapMb: number;
}

export interface Limits {
  /** Largest request body, in bytes (413 above it). */
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
  readonly maxTimeSteps: number;
  readonly maxFeatures: number;
  readonly maxHiddenSize: number;
  /** Most layers in a stack. */
  readonly maxLayers: number;
  /**
   * Largest multiply-adds of one request: the pass, Σ over layers and directions of
   * `batch · time · (inputDim + hiddenSize) · G · hiddenSize` (G gates: 1 SimpleRNN, 4 LSTM, 3 GRU), plus building
   * seeded weights (6 · G · hiddenSize³ per layer and direction: the orthogonal initialiser's QR decomposition).
   */
  readonly maxCompute: number;
  /** Largest `batch · time · features` of the input tensor (for text: the one-hot floats, vocabulary wide). */
  readonly maxInputValues: number;
  /** Largest number of values in an answer: outputs plus states (or, for /rnn/weights, every weight written). */
  readonly maxOutputValues: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: z.infer<typeof ConfigFromEnv>['LOG_LEVEL'];
  readonly limits: Limits;
  /** How many seeded weight sets are kept, so a repeated seed costs nothing. 0 disables the cache. */
  readonly seededWeightsCache: number;
  /** The worker pool for large forward passes. */
  readonly pool: PoolSettings;
  /** The queue in front of the workers, and the batching of served models' passes. */
  readonly queue: QueueSettings;
  readonly http: HttpTimeouts;
  readonly shutdown: Shutdown;
  readonly overload: Overload;
  readonly access: Access;
  readonly models: Models;
  /** Stateful sequences: where their state lives between requests (SEQUENCE_*, REDIS_*). */
  readonly sequences: Sequences;
  /** Who to contact about this deployment's API: `info.contact` of its OpenAPI document. */
  readonly apiContact: ApiContact;
  /** OpenTelemetry tracing (OTEL_*); null: off. */
  readonly tracing: TracingSettings | null;
  readonly grpc: Grpc;
}

export interface ApiContact {
  readonly name: string;
  readonly url?: string;
  readonly email?: string;
}

/** The queue of requests waiting for a worker (src/core/scheduler.ts), and dynamic batching. */
export interface QueueSettings {
  /** The longest a request waits for its turn unless it asks otherwise, in ms (QUEUE_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Priority levels, 1 first (QUEUE_PRIORITY_LEVELS). */
  readonly priorityLevels: number;
  /** The level of a request that names none (QUEUE_DEFAULT_PRIORITY). */
  readonly defaultPriority: number;
  /** Most sequences in one merged pass of a served model (BATCH_MAX_ROWS); 1 = no batching. */
  readonly maxBatchRows: number;
  /** How long a request may wait for others to merge with, in ms (BATCH_MAX_DELAY_MS; 0: never waits). */
  readonly maxDelayMs: number;
}

/** Stateful sequences: where their recurrent state is kept between requests, and for how long. */
export interface Sequences {
  /** A sequence without a step for this long is dropped (SEQUENCE_IDLE_MS). */
  readonly idleMs: number;
  /** Sequences in progress at once (SEQUENCE_MAX): in this process, or with Redis in all replicas together. */
  readonly maxSequences: number;
  /** The shared store (REDIS_URL); null keeps the state in this process. */
  readonly redis: RedisSettings | null;
}

export interface RedisSettings {
  /** `redis://` or `rediss://`, with the ACL user, password and database number if any. A secret: never logged. */
  readonly url: string;
  /** Prepended to every key (REDIS_KEY_PREFIX), so that several services can share one database. */
  readonly keyPrefix: string;
  /** The longest wait for one command (REDIS_TIMEOUT_MS); past it the request gets 503. */
  readonly timeoutMs: number;
}

/** The Open Inference Protocol over gRPC (src/grpc/), beside HTTP on its own port. */
export interface Grpc {
  /** 0: no gRPC server. */
  readonly port: number;
  /** Largest request message; RESOURCE_EXHAUSTED above it (GRPC_MAX_MESSAGE_BYTES, by default BODY_LIMIT_BYTES). */
  readonly maxMessageBytes: number;
  /** HTTP/2 flow-control window of each call and each connection (GRPC_FLOW_CONTROL_WINDOW_BYTES). */
  readonly flowControlWindowBytes: number;
  /**
   * The server pings a connection after this long without traffic, and closes it when the ping is not answered
   * within 20 s: a client gone without a word (a cut network, a killed pod behind NAT) does not hold its streams.
   */
  readonly keepaliveTimeMs: number;
  /**
   * A connection is closed (GOAWAY, calls in flight finish) after this long; clients reconnect and the load
   * balancer spreads them again, so new pods get a share of long-lived clients. 0 = never.
   */
  readonly maxConnectionAgeMs: number;
}

/** The model repository: `dir/NAME/VERSION/model.json`, loaded and validated at start-up. */
export interface Models {
  readonly dir: string;
  /** `fail`: a bad model stops start-up; `skip`: it is left out, logged, and listed by /readyz. */
  readonly onError: 'fail' | 'skip';
  /** `none`: read once; `poll`: re-read every `pollSeconds`; `explicit`: changed through the repository API only. */
  readonly control: 'none' | 'poll' | 'explicit';
  readonly pollSeconds: number;
  /** explicit mode: the models loaded at start-up ('*': every one). */
  readonly startupModels: '*' | readonly string[];
}

/** Node's HTTP server timeouts (0 = none). */
export interface HttpTimeouts {
  /** Longest time to receive a whole request (headers and body); slow clients get 408. */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept; above the load balancer's idle timeout. */
  readonly keepAliveTimeoutMs: number;
  /** Socket inactivity timeout (DEFAULT_CONNECTION_TIMEOUT_MS says why it is on by default). */
  readonly connectionTimeoutMs: number;
}

/** Used by `main.ts` only: SIGTERM → not ready at once → serve for `delayMs` → close, exit within `graceMs`. */
export interface Shutdown {
  readonly delayMs: number;
  readonly graceMs: number;
}

/** Load shedding: 503 with Retry-After instead of growing latency. A 0 threshold is off. */
export interface Overload {
  readonly maxEventLoopDelayMs: number;
  readonly maxEventLoopUtilization: number;
  readonly maxHeapUsedBytes: number;
  readonly maxRssBytes: number;
  readonly sampleIntervalMs: number;
  /**
   * Bytes the requests in flight may hold together, as estimated from their shapes before their work starts
   * (src/inference/memory-estimate.ts); a request that does not fit beside the others gets 503 + Retry-After.
   * 0 = no budget.
   */
  readonly memoryBudgetBytes: number;
  readonly retryAfterSeconds: number;
}

export interface Access {
  /** Bearer keys; empty means no authentication. */
  readonly apiKeys: readonly string[];
  /** Whether GET /metrics needs a key too (when keys are configured). */
  readonly metricsAuth: boolean;
  /** Requests per client address per window; 0 = no rate limit. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** Origins allowed by CORS; empty means no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  /** Peers whose X-Forwarded-For gives the client address (TRUST_PROXY in environment.ts): none, all, or these. */
  readonly trustProxy: boolean | readonly string[];
}

export class ConfigError extends Error {}

const SECRET_VARIABLES = new Set(['API_KEYS', 'REDIS_URL', ...TRACING_SECRETS]);

/** Reads the settings from environment variables; a bad value throws one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigFromEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    // Secrets are named, never echoed: this line ends up in logs.
    const value = SECRET_VARIABLES.has(name) ? '(redacted)' : JSON.stringify(env[name]);
    throw new ConfigError(`invalid environment variable ${name}=${value}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.MODELS_LOAD !== '*' && e.MODEL_CONTROL_MODE !== 'explicit')
    throw new ConfigError(
      `invalid environment variable MODELS_LOAD=${JSON.stringify(env.MODELS_LOAD)}: names the models loaded at start-up in MODEL_CONTROL_MODE=explicit; with ${e.MODEL_CONTROL_MODE} every model is loaded (leave it unset)`,
    );
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    seededWeightsCache: e.SEEDED_WEIGHTS_CACHE,
    pool: {
      threads: e.POOL_THREADS,
      minCompute: e.POOL_MIN_COMPUTE,
      maxQueue: e.POOL_MAX_QUEUE,
      minBodyBytes: e.POOL_MIN_BODY_BYTES,
      nice: e.POOL_NICE,
      maxHeapMb: 0,
    },
    queue: {
      timeoutMs: e.QUEUE_TIMEOUT_MS,
      priorityLevels: e.QUEUE_PRIORITY_LEVELS,
      defaultPriority: Math.min(e.QUEUE_DEFAULT_PRIORITY, e.QUEUE_PRIORITY_LEVELS),
      maxBatchRows: e.BATCH_MAX_ROWS,
      maxDelayMs: e.BATCH_MAX_DELAY_MS,
    },
    http: {
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      connectionTimeoutMs: e.CONNECTION_TIMEOUT_MS,
    },
    shutdown: { delayMs: e.SHUTDOWN_DELAY_MS, graceMs: e.SHUTDOWN_GRACE_MS },
    overload: {
      maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: e.MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: e.MAX_HEAP_USED_BYTES,
      maxRssBytes: e.MAX_RSS_BYTES,
      sampleIntervalMs: e.PRESSURE_SAMPLE_INTERVAL_MS,
      memoryBudgetBytes: e.MEMORY_BUDGET_BYTES,
      retryAfterSeconds: e.RETRY_AFTER_SECONDS,
    },
    access: {
      apiKeys: e.API_KEYS,
      metricsAuth: e.METRICS_AUTH,
      rateLimitMax: e.RATE_LIMIT_MAX,
      rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
      corsOrigins: e.CORS_ORIGINS,
      trustProxy: e.TRUST_PROXY,
    },
    models: {
      dir: e.MODELS_DIR,
      onError: e.MODELS_ON_ERROR,
      control: e.MODEL_CONTROL_MODE,
      pollSeconds: e.MODEL_POLL_SECONDS,
      startupModels: e.MODELS_LOAD,
    },
    sequences: {
      idleMs: e.SEQUENCE_IDLE_MS,
      maxSequences: e.SEQUENCE_MAX,
      redis:
        e.REDIS_URL === null
          ? null
          : { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, timeoutMs: e.REDIS_TIMEOUT_MS },
    },
    apiContact: {
      name: e.OPENAPI_CONTACT_NAME,
      ...(e.OPENAPI_CONTACT_URL === undefined ? {} : { url: e.OPENAPI_CONTACT_URL }),
      ...(e.OPENAPI_CONTACT_EMAIL === undefined ? {} : { email: e.OPENAPI_CONTACT_EMAIL }),
    },
    tracing: tracingSettings(e),
    grpc: {
      port: e.GRPC_PORT,
      maxMessageBytes: e.GRPC_MAX_MESSAGE_BYTES ?? e.BODY_LIMIT_BYTES,
      flowControlWindowBytes: e.GRPC_FLOW_CONTROL_WINDOW_BYTES,
      keepaliveTimeMs: e.GRPC_KEEPALIVE_TIME_MS,
      maxConnectionAgeMs: e.GRPC_MAX_CONNECTION_AGE_MS,
    },
    limits: {
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      maxBatch: e.MAX_BATCH,
      maxTimeSteps: e.MAX_TIME_STEPS,
      maxFeatures: e.MAX_FEATURES,
      maxHiddenSize: e.MAX_HIDDEN_SIZE,
      maxLayers: e.MAX_LAYERS,
      maxCompute: e.MAX_COMPUTE,
      maxInputValues: e.MAX_INPUT_VALUES,
      maxOutputValues: e.MAX_OUTPUT_VALUES,
    },
  };
}

/** The defaults, as `loadConfig({})` gives them; tests and the OpenAPI generator start from here. */
export const defaultConfig: Config = loadConfig({});
