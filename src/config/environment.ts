/**
 * The environment variables: each one's schema (the values it accepts, its default) and description, grouped in the
 * sections of docs/configuration.md (sections.ts puts the groups in order, with tracing.ts's OTEL_* variables).
 * config.ts turns them into settings.
 */
import { isIP, isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { MEMORY_BUDGET_SHARE, defaultMemoryBudget } from './memory-limit.js';

/** The service's name: the OpenAPI title, the Open Inference Protocol's server name, the default API contact. */
export const SERVICE_NAME = 'rnn-serve';

/**
 * Below this many multiply-adds a forward pass runs inline. bench/pool-threshold.ts measured the worker
 * round trip at ~0.29 ms and inline compute at ~1.6 ms per million multiply-adds: from ~1.85 M the round
 * trip costs under 10% of the work it moves off the event loop.
 */
export const DEFAULT_POOL_MIN_COMPUTE = 2_000_000;

/**
 * One core is left to the event loop (parsing, validation, small requests, probes): with all cores on
 * workers, bench/http.ts measured small-request p99 under load 3× worse on 2 cores.
 */
const CORES_LEFT_TO_THE_EVENT_LOOP = 1;
export const DEFAULT_POOL_THREADS = Math.max(1, availableParallelism() - CORES_LEFT_TO_THE_EVENT_LOOP);
/** DEFAULT_POOL_THREADS as docs/configuration.md states it: a rule, not the number of the machine writing the page. */
const DEFAULT_POOL_THREADS_TEXT = `cores − ${CORES_LEFT_TO_THE_EVENT_LOOP}, at least 1 (Node's availableParallelism())`;

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
 * socket and the answer's memory for good. A slow reader is not cut off: every chunk the kernel takes restarts the
 * clock. It must outlast the longest quiet stretch of a request that is being served: its wait for its turn (at most
 * its queue deadline, QUEUE_TIMEOUT_MS by default) plus the compute of one MAX_COMPUTE pass (2·10⁹ FLOP at the 3-7
 * GFLOP/s of docs/performance.md: 0.3-0.7 s). Idle keep-alive connections are governed by KEEP_ALIVE_TIMEOUT_MS.
 */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 60_000;

/**
 * Requests waiting for a worker (POOL_MAX_QUEUE). Their compute is bounded by their deadlines (a request whose turn
 * would come after its deadline is refused at once) and their memory by MEMORY_BUDGET_BYTES; this bounds their number.
 */
export const DEFAULT_POOL_MAX_QUEUE = 256;

/**
 * The longest a request waits for its turn by default (QUEUE_TIMEOUT_MS; a request may ask for less or more:
 * `timeoutMs`, or the inference protocol's `timeout` parameter). Under the usual client timeouts of 15–30 s, so
 * that a refused request can still be retried elsewhere.
 */
export const DEFAULT_QUEUE_TIMEOUT_MS = 10_000;

/** Priority levels (1 first) and the level of a request that names none (Triton's priority_levels, default level). */
export const DEFAULT_PRIORITY_LEVELS = 3;
export const DEFAULT_PRIORITY_LEVEL = 2;

/**
 * The most sequences (batch rows) one merged pass of a served model holds (BATCH_MAX_ROWS; Triton's
 * max_batch_size): from batch 4 on the engine is ~1.4× cheaper per multiply-add than one row at a time, and beyond
 * 64 rows the gain is flat (docs/performance.md, engine scaling) while the pass, and the wait of what comes after
 * it, grows.
 */
export const DEFAULT_BATCH_MAX_ROWS = 64;

/**
 * SEQUENCE_IDLE_MS: a sequence with no step for this long is dropped, and its next request is refused as one that
 * was never started. Triton's default (max_sequence_idle_microseconds) is 1 s, made for machine clients that stream
 * frames back to back; here a sequence is often text a person types, chunk by chunk, with pauses to think that
 * last seconds. A minute keeps those sequences and still frees an abandoned one's state within a minute.
 */
export const DEFAULT_SEQUENCE_IDLE_MS = 60_000;

/**
 * SEQUENCE_MAX: sequences in progress at once. Their bytes are bounded by the memory budget; the count bounds the
 * bookkeeping and what one client can hold by starting sequences it never ends. 10,000 states of a 2-layer LSTM
 * with 256 units (4 KiB each) are 40 MiB.
 */
export const DEFAULT_SEQUENCE_MAX = 10_000;

/**
 * REDIS_TIMEOUT_MS: the longest wait for one Redis command. A Redis in the same zone answers in well under a
 * millisecond; half a second rides out a fork or a slow disk on its side and still answers a sequence request with
 * a 503 quickly when Redis is gone.
 */
export const DEFAULT_REDIS_TIMEOUT_MS = 500;

export const DEFAULT_REDIS_KEY_PREFIX = 'rnn-serve:seq:';

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

/** The default of MEMORY_BUDGET_BYTES (memory-limit.ts) as docs/configuration.md states it. */
const MEMORY_BUDGET_DEFAULT_TEXT = `${MEMORY_BUDGET_SHARE} × the memory limit`;

/** A value of `schema`, or empty (the default) for none. */
const optionalText = <T extends z.ZodType<string>>(schema: T) =>
  z
    .union([z.literal(''), schema])
    .default('')
    .transform((v) => (v === '' ? undefined : v));

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

/** An API key is at least this many printable ASCII characters (no spaces): long enough not to be guessed. */
export const MIN_API_KEY_CHARS = 16;
const API_KEY = new RegExp(`^[\\x21-\\x7e]{${MIN_API_KEY_CHARS},}$`);

/**
 * The environment variables, one object per section of docs/configuration.md (generated from them by
 * `npm run docs:config`): each variable's `.describe()` is its documentation, its schema gives the default and the
 * values accepted. A default that depends on the machine says so in `meta({ defaultText })`, since the page must not
 * show the value of the machine that generated it.
 */
export const server = {
  PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('The TCP port to listen on (0: any free port)'),
  HOST: z.string().min(1).default('0.0.0.0').describe('The address to listen on (`0.0.0.0`: every IPv4 interface)'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('The pino log level: one JSON line per request at `info`, nothing at `silent`'),
};

export const limits = {
  BODY_LIMIT_BYTES: positiveInt(16 * 1024 * 1024).describe(
    'Largest request body, in bytes (a float takes about 20 bytes of JSON); for a compressed body, its size once ' +
      'decompressed (the decoder stops as soon as its output passes the limit). Above it: 413',
  ),
  MAX_BATCH: positiveInt(1024).describe('Sequences per request'),
  MAX_TIME_STEPS: positiveInt(10_000).describe(
    "Steps per sequence (a text's characters or tokens are counted, stopping one past the limit, before anything " +
      'is encoded)',
  ),
  MAX_FEATURES: positiveInt(4096).describe(
    'Features per step; for text, the vocabulary size (a vocabulary found in the texts stops growing one past it)',
  ),
  MAX_HIDDEN_SIZE: positiveInt(1024).describe('Units per layer'),
  MAX_LAYERS: positiveInt(8).describe('Layers in a stack'),
  MAX_COMPUTE: positiveInt(1_000_000_000).describe(
    'Multiply-adds of one request: Σ over layers and directions of `batch·time·(inputDim + hiddenSize)·G·hiddenSize` ' +
      '(G gates: 1 SimpleRNN, 4 LSTM, 3 GRU), plus `6·G·hiddenSize³` per layer and direction to build seeded weights ' +
      "(the orthogonal initialiser's QR decomposition; served models' weights are built at start-up)",
  ),
  MAX_INPUT_VALUES: positiveInt(DEFAULT_MAX_INPUT_VALUES).describe(
    '`batch·time·features` of the input tensor, 4 bytes each as float32; for text, the `batch·time·vocabulary` ' +
      'one-hot floats it expands to',
  ),
  MAX_OUTPUT_VALUES: positiveInt(DEFAULT_MAX_OUTPUT_VALUES).describe(
    'Values in an answer: the outputs (every step, or the last with `returnSequences: false`; both directions with ' +
      '`mergeMode: null`) plus the states; for POST /rnn/weights, every weight in its three layouts. A float32 ' +
      'takes at most 16 bytes of JSON (15 characters and a comma)',
  ),
};

export const pool = {
  POOL_THREADS: z.coerce
    .number()
    .int()
    .min(0)
    .max(256)
    .default(DEFAULT_POOL_THREADS)
    .meta({
      description:
        'Worker threads for large forward passes (0: everything runs inline, on the event loop). One core is left ' +
        'to the event loop, which parses, validates and answers small requests and probes',
      defaultText: DEFAULT_POOL_THREADS_TEXT,
    }),
  POOL_MIN_COMPUTE: z.coerce
    .number()
    .int()
    .min(0)
    .default(DEFAULT_POOL_MIN_COMPUTE)
    .describe(
      'Forward passes costing at least this many multiply-adds run on a worker; cheaper ones run inline, where the ' +
        'worker round trip would cost more than it saves (0: every pass goes to a worker, when there are any)',
    ),
  POOL_MAX_QUEUE: positiveInt(DEFAULT_POOL_MAX_QUEUE).describe(
    'Requests waiting in the queue for a worker beyond which new ones are refused with 503 (their compute is bounded ' +
      'by their deadlines, their memory by MEMORY_BUDGET_BYTES)',
  ),
  POOL_MIN_BODY_BYTES: offOrInt(DEFAULT_POOL_MIN_BODY_BYTES).describe(
    'POST /rnn/forward bodies of at least this many bytes are parsed and validated on a worker too, not on the ' +
      'event loop, where JSON.parse and validation would hold up every other request (0: never; needs POOL_THREADS > 0)',
  ),
  POOL_NICE: z.coerce
    .number()
    .int()
    .min(0)
    .max(19)
    .default(DEFAULT_POOL_NICE)
    .describe(
      'Nice value of the worker threads (Linux): when workers and the event loop compete for a core, small ' +
        'requests and probes go first and a large pass takes a little longer (0: as the process is)',
    ),
  SEEDED_WEIGHTS_CACHE: z.coerce
    .number()
    .int()
    .min(0)
    .default(64)
    .describe('Seeded weight sets kept in memory, so a repeated seed and model costs nothing to build (0: none)'),
};

export const http = {
  REQUEST_TIMEOUT_MS: offOrInt(30_000).describe(
    'Longest time to receive a whole request, headers and body; a slower client gets 408 (0: none)',
  ),
  KEEP_ALIVE_TIMEOUT_MS: positiveInt(72_000).describe(
    "How long an idle keep-alive connection stays open; keep it above the load balancer's idle timeout, so that " +
      'the balancer, not the server, closes idle connections',
  ),
  CONNECTION_TIMEOUT_MS: offOrInt(DEFAULT_CONNECTION_TIMEOUT_MS).describe(
    'Socket inactivity timeout: a connection on which nothing moves either way for this long is closed, so a ' +
      'client that never reads its answer frees the memory of its answer. A slow reader is not cut off (each chunk ' +
      'the kernel takes restarts the clock); it must outlast the compute of the largest pass plus its wait for its ' +
      'turn (QUEUE_TIMEOUT_MS). Idle keep-alive connections follow KEEP_ALIVE_TIMEOUT_MS (0: none)',
  ),
};

export const shutdown = {
  SHUTDOWN_DELAY_MS: offOrInt(5_000).describe(
    'After SIGTERM or SIGINT, /readyz answers 503 at once and requests are still served this long, while load ' +
      'balancers and Kubernetes stop routing to the instance; then it stops accepting connections',
  ),
  SHUTDOWN_GRACE_MS: positiveInt(20_000).describe(
    'Then: time for the requests in flight to finish; if they have not, the process logs so and exits 1 (a forced ' +
      'exit), otherwise it exits 0',
  ),
};

export const queue = {
  QUEUE_TIMEOUT_MS: positiveInt(DEFAULT_QUEUE_TIMEOUT_MS).describe(
    'The longest a request waits for its turn on a worker, unless it asks for another deadline (`timeoutMs` on our ' +
      "routes, the inference protocol's `timeout` parameter in µs). A request whose turn would come later is refused " +
      'at once (503 + Retry-After); one still waiting at its deadline is answered 503 then and computes nothing',
  ),
  QUEUE_PRIORITY_LEVELS: positiveInt(DEFAULT_PRIORITY_LEVELS).describe(
    "Priority levels of the queue (a request's `priority`, Triton's): 1 is served first, every request of a level " +
      'before any of the next, arrivals in order within a level; a priority beyond the levels is a 400',
  ),
  QUEUE_DEFAULT_PRIORITY: positiveInt(DEFAULT_PRIORITY_LEVEL).describe(
    'The level of a request that names none (or priority 0); at most QUEUE_PRIORITY_LEVELS',
  ),
  BATCH_MAX_ROWS: positiveInt(DEFAULT_BATCH_MAX_ROWS).describe(
    'Dynamic batching: the most sequences (batch rows) one merged pass of a served model holds (1: no batching). ' +
      'Requests for the same model and version with the same options that wait together are merged into one pass ' +
      'and split back, each answer the one it gets alone',
  ),
  BATCH_MAX_DELAY_MS: z.coerce
    .number()
    .min(0)
    .default(0)
    .describe(
      'Dynamic batching: how long the first request of a pass of a served model may wait for others to merge with ' +
        "(Triton's max_queue_delay_microseconds, in ms). 0: never; a request that arrives alone runs at once, and " +
        'requests merge only with those that arrived in the same turn or while the workers were busy. Above 0, a ' +
        'pass goes when its delay is up or BATCH_MAX_ROWS rows are queued; it trades latency for larger passes',
    ),
};

export const overload = {
  MAX_EVENT_LOOP_DELAY_MS: offOrInt(1_000).describe(
    'Shed load (503 + Retry-After) while the event-loop delay is above this (0: off). Probes and /metrics are never shed',
  ),
  MAX_EVENT_LOOP_UTILIZATION: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Shed while the event-loop utilisation (0 to 1) is above this (0: off)'),
  MAX_HEAP_USED_BYTES: offOrInt(0).describe('Shed while the V8 heap in use is above this (0: off)'),
  MAX_RSS_BYTES: offOrInt(0).describe('Shed while the resident memory is above this (0: off)'),
  PRESSURE_SAMPLE_INTERVAL_MS: positiveInt(1_000).describe(
    'How often the four measures above are sampled (@fastify/under-pressure)',
  ),
  MEMORY_BUDGET_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(defaultMemoryBudget)
    .meta({
      description:
        "Bytes the requests in flight may hold together, each by its estimate from its shapes (inputs, every layer's " +
        'outputs, states and weight panels, the kernel heap, the answer as float32 and JSON, seeded weights being ' +
        'built), reserved before its work starts and given back when its response closes. A request that does not ' +
        'fit beside the others gets 503 + Retry-After; one larger than the whole budget a 400; 0: no budget. The ' +
        "memory limit is the container's cgroup limit (v2 `memory.max`, then v1), else the machine's memory. Worker " +
        "threads keep Node's own heap limit: a V8 heap cap on a worker takes down Node 24's whole process when reached",
      defaultText: MEMORY_BUDGET_DEFAULT_TEXT,
    }),
  RETRY_AFTER_SECONDS: positiveInt(1).describe('The `Retry-After` header of 503 answers (load shed, not ready)'),
};

export const access = {
  API_KEYS: list
    .refine((keys) => keys.every((key) => API_KEY.test(key)), {
      message: `each key must be at least ${MIN_API_KEY_CHARS} printable ASCII characters without spaces`,
    })
    .meta({
      description:
        `Comma-separated bearer keys (\`Authorization: Bearer <key>\`), each at least ${MIN_API_KEY_CHARS} printable ` +
        'ASCII characters without spaces; empty: no authentication. A missing key is a 401, a wrong one a 403. ' +
        'Probes, the playground page and the API description (/docs, /openapi.json) stay open. A bad value stops ' +
        'start-up naming the variable, never echoing it',
      accepts: 'a comma-separated list of keys',
    }),
  METRICS_AUTH: flag(false).describe('With API_KEYS set, GET /metrics needs a key too (`true`/`1` or `false`/`0`)'),
  RATE_LIMIT_MAX: offOrInt(0).describe(
    'Requests per client address per window; beyond it, 429 + Retry-After (0: off). Probes and /metrics are not ' +
      'counted. Counted per process: with N instances a client gets up to N times the limit',
  ),
  RATE_LIMIT_WINDOW_MS: positiveInt(60_000).describe('The rate-limit window'),
  CORS_ORIGINS: list.meta({
    description: 'Comma-separated origins allowed by CORS; empty: no CORS headers at all',
    accepts: 'a comma-separated list of origins',
  }),
  TRUST_PROXY: trustProxy.meta({
    accepts: '`false`, `true`, or a comma-separated list of addresses and CIDRs',
    description:
      'Proxies whose `X-Forwarded-For` names the client, for the rate limit and the access log: `false` (the ' +
      "socket's peer is the client), `true` (any peer: a client can then choose its own address), or " +
      'comma-separated addresses and CIDRs (`10.0.0.0/8,127.0.0.1`; also `loopback`, `linklocal`, `uniquelocal`), ' +
      'read from the right past the listed proxies. Behind a load balancer, give its addresses. A hop count is ' +
      'refused (Fastify would ignore it)',
  }),
};

/**
 * REDIS_URL: `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS; empty = sequences live in this
 * process. Its messages never quote it: it may hold a password.
 */
const redisUrl = z
  .string()
  .default('')
  .transform((value, ctx): string | null => {
    const v = value.trim();
    if (v === '') return null;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a URL; expected redis://[user[:password]@]host[:port][/db]' });
      return z.NEVER;
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      ctx.addIssue({ code: 'custom', message: 'the scheme is not redis:// or rediss:// (TLS)' });
      return z.NEVER;
    }
    if (url.hostname === '') {
      ctx.addIssue({ code: 'custom', message: 'names no host; expected redis://host[:port][/db]' });
      return z.NEVER;
    }
    if (!/^\/?$|^\/\d{1,5}$/.test(url.pathname)) {
      ctx.addIssue({ code: 'custom', message: 'the path must be a database number, e.g. redis://host:6379/0' });
      return z.NEVER;
    }
    return v;
  });

export const sequences = {
  SEQUENCE_IDLE_MS: positiveInt(DEFAULT_SEQUENCE_IDLE_MS).describe(
    'A sequence with no step for this long is dropped (its state freed); its next request is refused as one never ' +
      "started. With Redis, the key's expiry",
  ),
  SEQUENCE_MAX: positiveInt(DEFAULT_SEQUENCE_MAX).describe(
    'Sequences in progress at once (in this process, or with Redis across every replica); a start beyond it is ' +
      'refused with 503, never by evicting a sequence in progress. Their bytes count against MEMORY_BUDGET_BYTES',
  ),
  REDIS_URL: redisUrl.describe(
    '`redis://[user[:password]@]host[:port][/db]` (or `rediss://` for TLS): keep sequence state in Redis, so that ' +
      'any replica continues any sequence. Empty: in this process (replicas then need sticky routing by sequence ' +
      'id). A secret: never logged or echoed',
  ),
  REDIS_KEY_PREFIX: z
    .string()
    .min(1)
    .max(256)
    .default(DEFAULT_REDIS_KEY_PREFIX)
    .describe('Prepended to every Redis key, so that several services can share one database'),
  REDIS_TIMEOUT_MS: positiveInt(DEFAULT_REDIS_TIMEOUT_MS).describe(
    'The longest wait for one Redis command; past it (or with Redis down) a sequence request gets 503 at once, ' +
      'and stateless requests carry on',
  ),
};

export const models = {
  MODELS_DIR: z
    .string()
    .min(1)
    .default('./models')
    .describe(
      'The model repository, `NAME/[config.pbtxt]` and `NAME/VERSION/model.json` (or `model.onnx`), read at ' +
        'start-up and then as MODEL_CONTROL_MODE says. A directory that does not exist is an empty repository',
    ),
  MODELS_ON_ERROR: z
    .enum(['fail', 'skip'])
    .default('fail')
    .describe(
      '`fail`: a bad model stops start-up (exit code 2) with one line naming the file and the problem. `skip`: the ' +
        "model is left out, logged at `warn`, and listed in GET /readyz's body as `skippedModels`. In every mode; " +
        'after start-up a failure never stops the server (the version is listed UNAVAILABLE with its reason)',
    ),
  MODEL_CONTROL_MODE: z
    .enum(['none', 'poll', 'explicit'])
    .default('none')
    .describe(
      '`none`: the repository is read once, at start-up. `poll`: it is read again every MODEL_POLL_SECONDS, and ' +
        'models and versions added, changed or removed are loaded, swapped or retired. `explicit`: models change ' +
        'only through the repository API (POST /v2/repository/models/{name}/load, /unload). See ' +
        'docs/models/lifecycle.md',
    ),
  MODEL_POLL_SECONDS: z.coerce
    .number()
    .positive()
    .max(86_400)
    .default(5)
    .describe(
      '`poll`: seconds between two scans of MODELS_DIR (fractions allowed); a change is acted on once two scans in a ' +
        'row agree on it',
    ),
  MODELS_LOAD: z
    .string()
    .default('*')
    .transform((v): '*' | string[] =>
      v.trim() === '*'
        ? '*'
        : v
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name !== ''),
    )
    .describe(
      '`explicit`: the models loaded at start-up, comma-separated (`*`: all of them; empty: none). Refused in the ' +
        'other modes, which load every model',
    ),
};

export const apiDocument = {
  OPENAPI_CONTACT_NAME: z
    .string()
    .min(1)
    .default(SERVICE_NAME)
    .describe('`info.contact.name` of the OpenAPI document (/openapi.json): who runs this deployment'),
  OPENAPI_CONTACT_URL: optionalText(z.url({ protocol: /^https?$/, error: 'expected an http or https URL' })).describe(
    '`info.contact.url`: an http(s) URL where its users find help (empty: none)',
  ),
  OPENAPI_CONTACT_EMAIL: optionalText(z.email({ error: 'expected an e-mail address' })).describe(
    '`info.contact.email` (empty: none)',
  ),
};
