/**
 * The sections of docs/configuration.md, which is generated from CONFIG_SECTIONS (`npm run docs:config`;
 * `npm run docs:config:check`, part of `npm test`, fails when the page is stale), and the schema of the whole
 * environment, ConfigFromEnv: the groups of environment.ts and grpc-environment.ts, then tracing.ts's OTEL_*
 * variables.
 */
import { z } from 'zod';
import {
  access,
  apiDocument,
  http,
  limits,
  models,
  overload,
  pool,
  queue,
  sequences,
  server,
  shutdown,
} from './environment.js';
import { grpc } from './grpc-environment.js';
import { TRACING_SECTION, tracingVariables } from './tracing.js';

/** The sections of docs/configuration.md, in order, each with what it is about and its variables. */
export const CONFIG_SECTIONS = [
  { title: 'Server', about: 'Where the service listens and what it logs.', variables: server },
  {
    title: 'Request limits',
    about:
      'A request over a limit gets a 400 (413 for the body size) stating the limit, the variable and the value ' +
      'received. What a request will cost is known from its shapes before any work that scales with it, and checked ' +
      'in this order: batch and time steps, features or vocabulary, the input tensor (MAX_INPUT_VALUES), building ' +
      'seeded weights plus the pass (MAX_COMPUTE), the values of the answer (MAX_OUTPUT_VALUES), then the memory ' +
      'budget (MEMORY_BUDGET_BYTES). Only then are the inputs read into typed arrays.',
    variables: limits,
  },
  {
    title: 'Worker pool and caches',
    about:
      'Large forward passes run on worker threads, so that the event loop keeps answering small requests and probes.',
    variables: pool,
  },
  {
    title: 'Queue and batching',
    about:
      'Passes too large for the event loop wait for a worker in a queue by priority level and deadline, and a ' +
      "served model's requests that wait together are merged into one pass (dynamic batching).",
    variables: queue,
  },
  { title: 'Connections', about: "Node's HTTP server timeouts.", variables: http },
  {
    title: 'Shutdown',
    about:
      'On SIGTERM or SIGINT the process turns /readyz to 503 at once, keeps serving for SHUTDOWN_DELAY_MS, then ' +
      'stops accepting, finishes the requests in flight and exits 0 within SHUTDOWN_GRACE_MS.',
    variables: shutdown,
  },
  {
    title: 'Load shedding',
    about:
      'Overload is shed with 503 + Retry-After (problem+json) instead of letting latency grow: thresholds on the ' +
      'event loop and memory (@fastify/under-pressure), and a memory budget. ' +
      'A threshold of 0 is off.',
    variables: overload,
  },
  { title: 'Access', about: 'Authentication, rate limits, CORS and proxies.', variables: access },
  {
    title: 'gRPC',
    about:
      'The Open Inference Protocol over gRPC (docs/protocol/grpc.md), beside HTTP: the same models, limits, queue, ' +
      'API keys and metrics.',
    variables: grpc,
  },
  { title: 'Model repository', about: 'The models served by /models/… and /v2/models/….', variables: models },
  {
    title: 'Sequences',
    about:
      'Stateful sequences (`sequence_id`, `sequence_start`, `sequence_end`): where the recurrent state is kept ' +
      'between requests, and for how long.',
    variables: sequences,
  },
  {
    title: 'API document',
    about: 'What the OpenAPI document (/openapi.json, /docs) says about this deployment.',
    variables: apiDocument,
  },
  TRACING_SECTION,
] as const;

export const ConfigFromEnv = z.object({
  ...server,
  ...limits,
  ...pool,
  ...queue,
  ...http,
  ...shutdown,
  ...overload,
  ...access,
  ...grpc,
  ...models,
  ...sequences,
  ...apiDocument,
  ...tracingVariables,
});
