/**
 * A traced app for the tracing tests: an OTLP receiver in the test process (otlp-receiver.ts), the app built with
 * the tracing settings the OTEL_* variables give (read as the process reads them, through loadConfig), listening on
 * a loopback port: clients send real `traceparent` headers over a real socket.
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/config.js';
import { type Overrides, build } from './build.js';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

export interface Traced {
  app: FastifyInstance;
  logs: Record<string, unknown>[];
  receiver: OtlpReceiver;
  base: string;
  /** POSTs JSON; `headers` are added to `content-type: application/json`. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Every span received once `count` have arrived (the batch processor exports every 20 ms here). */
  spans(count: number): Promise<ReceivedSpan[]>;
}

type T = { teardown(fn: () => unknown): void };

/** How long `spans` waits for what it expects (the batch processor exports every 20 ms here). */
const SPANS_WAIT_MS = 10_000;

/** The caller's span, as a client that traces its own requests sends it. */
export const CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
export const CALLER_SPAN = 'b7ad6b7169203331';
export const traceparent = (flags = '01', trace = CALLER_TRACE, span = CALLER_SPAN) => `00-${trace}-${span}-${flags}`;

export async function tracedApp(t: T, env: Record<string, string> = {}, overrides: Overrides = {}): Promise<Traced> {
  const receiver = await OtlpReceiver.start();
  t.teardown(() => receiver.close());
  const { tracing } = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20', ...env });
  const { app, logs } = await build(t, { tracing, ...overrides });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return {
    app,
    logs,
    receiver,
    base,
    post: (path, body, headers = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }),
    async spans(count) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const names = receiver.spans.map((s) => s.name).join(', ');
          reject(new Error(`expected ${count} spans within ${SPANS_WAIT_MS} ms; received ${names || 'none'}`));
        }, SPANS_WAIT_MS);
      });
      try {
        await Promise.race([receiver.received(count), late]);
      } finally {
        clearTimeout(timer);
      }
      return receiver.spans;
    },
  };
}

/** Spans by name, in arrival order. */
export const named = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] =>
  spans.filter((span) => span.name === name);

/** The one span of that name (fails loudly when there are none or several). */
export function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = named(spans, name);
  if (found.length !== 1) throw new Error(`expected one span ${name}, found ${found.length}`);
  return found[0];
}

/** Waits `ms` (for what must not arrive: spans of an unsampled request). */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
