/**
 * build(t): the app as production builds it (buildApp), with the given config overrides, logging into
 * an array the test can read, closed when the test ends.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { type Config, type Limits, defaultConfig } from '../../src/config.js';

export interface Built {
  app: FastifyInstance;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
}

export async function build(
  t: { teardown(fn: () => unknown): void },
  overrides: Partial<Omit<Config, 'limits'>> & { limits?: Partial<Limits> } = {},
): Promise<Built> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const config: Config = { ...defaultConfig, ...overrides, limits: { ...defaultConfig.limits, ...overrides.limits } };
  const app = await buildApp(config, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => app.close());
  return { app, logs };
}

export const HELLO = { inputs: [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1]]], hiddenSize: 2, seed: 42 };

/** The lecture's batch of three: hello, eolll, lleel (one-hot over h, e, l, o). */
export const HELLO_BATCH = (() => {
  const oneHot: Record<string, number[]> = { h: [1, 0, 0, 0], e: [0, 1, 0, 0], l: [0, 0, 1, 0], o: [0, 0, 0, 1] };
  return { inputs: ['hello', 'eolll', 'lleel'].map((word) => [...word].map((c) => oneHot[c])), hiddenSize: 2, seed: 42 };
})();
