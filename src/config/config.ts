/**
 * Settings, read once from the environment by `main.ts` and handed to `buildApp`. Every limit a request can
 * hit is here, with its environment variable and default (the README's limits table lists the same).
 */
import { isIP, isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { defaultMemoryBudget } from './memory-limit.js';

/**
 * Below this many multiply-adds a forward pass runs inline. bench/pool-threshold.ts measured the worker
 * round trip at ~0.29 ms and inline compute at ~1.6 ms per million multiply-adds: from ~1.85 M the round
 * trip costs under 10% of the work it moves off the event loop.
 */
export const DEFAULT_POOL_MIN_COMPUTE = 2_000_000;

/** The worker pool for large forward passes (src/runtime/pool.ts). */
export interface PoolSettings {
  /** Worker threads; 0 runs everything inline. */
  readonly threads: number;
  /** Plans costing at least this many multiply-adds run on a worker. */
  readonly minCompute: number;
  /** Tasks waiting for a worker beyond which new ones are refused (503). */
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

/**
 * One core is left to the event loop (parsing, validation, small requests, probes): with all cores on
 * workers, bench/http.ts measured small-request p99 under load 3× worse on 2 cores.
 */
export const DEFAULT_POOL_THREADS = Math.max(1, availableParallelism() - 1);

/**
 * JSON.parse and zod take ~10-15 ms per MB of numbers on the event loop, during which no small request is
 * answered; from 64 KiB (≲ 1 ms there) the worker round trip (~0.3 ms) is worth it (bench/http.ts, mixed load).
 */
export const DEFAULT_POOL_MIN_BODY_BYTES = 64 * 1024;

/**
 * Workers run at a lower priority than the event loop: when they compete for a core, small requests and
 * probes go first and a large pass takes a little longer (bench/http.ts, mixed load).
 */
export const DEFAULT_POOL_NICE = 10;

/**
 * 2^23 input floats (32 MiB as float32): about what the largest JSON body (BODY_LIMIT_BYTES, 16 MiB) can hold as
 * numbers, so numeric inputs meet the body limit first; it bounds what text's one-hot encoding expands to.
 */
export const DEFAULT_MAX_INPUT_VALUES = 8 * 1024 * 1024;

/**
 * 2^22 answer values: 16 MiB as float32, and at most ~64 MiB of JSON (a float32 takes at most 15 characters and a
 * comma), so a few such answers at once fit in the Deployment's 1 GiB beside the inputs and the engine's buffers.
 */
export const DEFAULT_MAX_OUTPUT_VALUES = 4 * 1024 * 1024;

/**
 * Socket inactivity timeout (CONNECTION_TIMEOUT_MS): a connection on which nothing moves either way for this long
 * is destroyed. Without one, a client that sends a request with a large answer and never reads it holds its
 * socket, the answer's memory and its MAX_CONCURRENT_FORWARD slot for good (the slot is freed when the response
 * closes). A slow reader is not cut off: every chunk the kernel takes restarts the clock. It must outlast the
 * longest quiet stretch of a request that is being served: the compute of one MAX_COMPUTE pass (2·10⁹ FLOP at
 * the 3-7 GFLOP/s of BENCHMARKS.md: 0.3-0.7 s) plus its wait behind the passes admitted before it (64 on one
 * worker thread: ~20-45 s on two cores). Idle keep-alive connections are governed by KEEP_ALIVE_TIMEOUT_MS instead.
 */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 60_000;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** A whole number ≥ 0 where 0 means "off". */
const offOrInt = (fallback: number) => z.coerce.number().int().min(0).default(fallback);
/** `true`/`false`/`1`/`0`; `z.coerce.boolean()` would read the string `false` as true. */
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
/** A comma-separated list; blanks around entries and empty entries are dropped. */
const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

/**
 * TRUST_PROXY: which peers may tell the client's address in `X-Forwarded-For` (Fastify's `trustProxy`), so that
 * the rate limit and the access log see the client behind a load balancer rather than the balancer. Off by
 * default: the header is written by whoever sends the request, so trusting it from any peer would let every
 * client pick its own rate-limit bucket (a new address per request) and its own address in the log. Only a proxy
 * we know overwrites or appends to it makes it worth reading.
 *
 * `false` (default), `true`, or a comma-separated list of the proxies' addresses and CIDRs (`10.0.0.0/8,127.0.0.1`;
 * also `loopback`, `linklocal`, `uniquelocal`). Prefer the list: the header is read from the right, past the
 * listed proxies, to the first address none of them is, so what a client wrote ahead of them is not taken. `true`
 * trusts every hop and takes the leftmost address, which the client may have written itself: only for a port
 * nothing but the proxies can reach, and even then a client can choose its bucket. A hop count is refused, not ignored: Fastify 5.12 trusts nobody for a
 * number (it cannot tell a proxy from a client that sends the header itself), so it would silently do nothing.
 */
const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** An address or CIDR as @fastify/proxy-addr takes it: `ip`, `ip/prefix` (1 to 32 or 128), `ipv4/netmask`. */
function isProxyAddress(entry: string): boolean {
  if (TRUST_PROXY_NAMES.has(entry)) return true;
  const slash = entry.lastIndexOf('/');
  const ip = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(ip);
  if (version === 0) return false;
  if (slash < 0) return true;
  const range = entry.slice(slash + 1);
  if (/^\d+$/.test(range)) return Number(range) >= 1 && Number(range) <= (version === 4 ? 32 : 128);
  return version === 4 && isIPv4(range);
}
const trustProxy = z
  .string()
  .default('false')
  .transform((value, ctx): boolean | string[] => {
    const v = value.trim();
    if (v === 'false' || v === '') return false;
    if (v === 'true') return true;
    if (/^\d+$/.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message:
          "a hop count is not accepted (Fastify ignores it: it cannot tell a proxy from a client that sends X-Forwarded-For itself); give the proxies' addresses or CIDRs, e.g. 10.0.0.0/8",
      });
      return z.NEVER;
    }
    const entries = v
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const bad = entries.find((entry) => !isProxyAddress(entry));
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `'${bad}' is not an IP address or CIDR; expected true, false, or a comma-separated list of proxy addresses and CIDRs (e.g. 10.0.0.0/8,127.0.0.1; also loopback, linklocal, uniquelocal)`,
      });
      return z.NEVER;
    }
    return entries.length === 0 ? false : entries;
  });

/** KServe's port for the Open Inference Protocol over gRPC (its ServingRuntimes name it `h2c`). */
export const DEFAULT_GRPC_PORT = 8081;

export const ConfigFromEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: positiveInt(16 * 1024 * 1024),
  MAX_BATCH: positiveInt(1024),
  MAX_TIME_STEPS: positiveInt(10_000),
  MAX_FEATURES: positiveInt(4096),
  MAX_HIDDEN_SIZE: positiveInt(1024),
  MAX_LAYERS: positiveInt(8),
  MAX_COMPUTE: positiveInt(1_000_000_000),
  MAX_INPUT_VALUES: positiveInt(DEFAULT_MAX_INPUT_VALUES),
  MAX_OUTPUT_VALUES: positiveInt(DEFAULT_MAX_OUTPUT_VALUES),
  SEEDED_WEIGHTS_CACHE: z.coerce.number().int().min(0).default(64),
  POOL_THREADS: z.coerce.number().int().min(0).max(256).default(DEFAULT_POOL_THREADS),
  POOL_MIN_COMPUTE: z.coerce.number().int().min(0).default(DEFAULT_POOL_MIN_COMPUTE),
  POOL_MAX_QUEUE: positiveInt(64),
  POOL_MIN_BODY_BYTES: offOrInt(DEFAULT_POOL_MIN_BODY_BYTES),
  POOL_NICE: z.coerce.number().int().min(0).max(19).default(DEFAULT_POOL_NICE),
  REQUEST_TIMEOUT_MS: offOrInt(30_000),
  KEEP_ALIVE_TIMEOUT_MS: positiveInt(72_000),
  CONNECTION_TIMEOUT_MS: offOrInt(DEFAULT_CONNECTION_TIMEOUT_MS),
  SHUTDOWN_DELAY_MS: offOrInt(5_000),
  SHUTDOWN_GRACE_MS: positiveInt(20_000),
  MAX_EVENT_LOOP_DELAY_MS: offOrInt(1_000),
  MAX_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(0),
  MAX_HEAP_USED_BYTES: offOrInt(0),
  MAX_RSS_BYTES: offOrInt(0),
  PRESSURE_SAMPLE_INTERVAL_MS: positiveInt(1_000),
  MAX_CONCURRENT_FORWARD: offOrInt(64),
  MEMORY_BUDGET_BYTES: z.coerce.number().int().min(0).default(defaultMemoryBudget),
  RETRY_AFTER_SECONDS: positiveInt(1),
  API_KEYS: list.refine((keys) => keys.every((key) => /^[\x21-\x7e]{16,}$/.test(key)), {
    message: 'each key must be at least 16 printable ASCII characters without spaces',
  }),
  METRICS_AUTH: flag(false),
  RATE_LIMIT_MAX: offOrInt(0),
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
  CORS_ORIGINS: list,
  TRUST_PROXY: trustProxy,
  GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_GRPC_PORT),
  GRPC_MAX_MESSAGE_BYTES: z.coerce.number().int().positive().optional(),
  GRPC_KEEPALIVE_TIME_MS: positiveInt(60_000),
  GRPC_MAX_CONNECTION_AGE_MS: offOrInt(0),
  MODELS_DIR: z.string().min(1).default('./models'),
  MODELS_ON_ERROR: z.enum(['fail', 'skip']).default('fail'),
});

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
   * `batch · time · (inputDim + hiddenSize) · hiddenSize`, plus building seeded weights (6 · hiddenSize³ per layer
   * and direction: the orthogonal initialiser's QR decomposition).
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
  readonly http: HttpTimeouts;
  readonly shutdown: Shutdown;
  readonly overload: Overload;
  readonly access: Access;
  readonly models: Models;
  readonly grpc: Grpc;
}

/** The Open Inference Protocol over gRPC (src/grpc/), beside HTTP on its own port. */
export interface Grpc {
  /** 0: no gRPC server. */
  readonly port: number;
  /** Largest request message; RESOURCE_EXHAUSTED above it (GRPC_MAX_MESSAGE_BYTES, by default BODY_LIMIT_BYTES). */
  readonly maxMessageBytes: number;
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
  /** POST /rnn/forward requests admitted at once (computing or waiting); 0 = unbounded. */
  readonly maxConcurrentForward: number;
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
  /** Peers whose X-Forwarded-For gives the client address (TRUST_PROXY, see above): none, all, or these. */
  readonly trustProxy: boolean | readonly string[];
}

export class ConfigError extends Error {}

const SECRET_VARIABLES = new Set(['API_KEYS']);

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
      maxConcurrentForward: e.MAX_CONCURRENT_FORWARD,
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
    models: { dir: e.MODELS_DIR, onError: e.MODELS_ON_ERROR },
    grpc: {
      port: e.GRPC_PORT,
      maxMessageBytes: e.GRPC_MAX_MESSAGE_BYTES ?? e.BODY_LIMIT_BYTES,
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
