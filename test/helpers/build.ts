/**
 * build(t): the app as production builds it (buildApp), with the given config overrides, logging into
 * an array the test can read, closed when the test ends.
 */
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { HELLO_INPUTS } from '../../schemas/forward.js';
import { buildApp } from '../../src/http/app.js';
import { type Config, defaultConfig } from '../../src/config/config.js';

/** The shipped model repository (models/ at the root), for tests that serve it. */
export const SHIPPED_MODELS = fileURLToPath(new URL('../../models', import.meta.url));
/** A directory that does not exist: an empty repository, so a test's limits never meet the shipped models. */
const NO_MODELS = fileURLToPath(new URL('../fixtures/no-models', import.meta.url));

export interface Built {
  app: FastifyInstance;
  /** The config the app was built with. */
  config: Config;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
}

/** Config overrides; a nested group (limits, http, overload, access…) is merged with its defaults. */
export type Overrides = {
  [K in keyof Config]?: Config[K] extends readonly unknown[]
    ? Config[K]
    : Config[K] extends object
      ? Partial<Config[K]>
      : Config[K];
};

/** The default config with these overrides, one level deep. */
export function configWith(overrides: Overrides = {}): Config {
  const merged: Record<string, unknown> = { ...defaultConfig };
  for (const [key, value] of Object.entries(overrides)) {
    const base = (defaultConfig as unknown as Record<string, unknown>)[key];
    const nested = value !== null && typeof value === 'object' && !Array.isArray(value) && typeof base === 'object';
    merged[key] = nested ? { ...(base as object), ...value } : value;
  }
  return merged as unknown as Config;
}

export async function build(t: { teardown(fn: () => unknown): void }, overrides: Overrides = {}): Promise<Built> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  // No worker threads unless a test asks for them: most tests never need the pool, and each app would
  // otherwise start its own workers. No served models unless a test asks for a repository.
  const config = configWith({ pool: { threads: 0 }, models: { dir: NO_MODELS }, ...overrides });
  const app = await buildApp(config, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => app.close());
  return { app, config, logs };
}

export const HELLO = { inputs: HELLO_INPUTS, hiddenSize: 2, seed: 42 };

/** The lecture's batch of three: hello, eolll, lleel (one-hot over h, e, l, o). */
export const HELLO_BATCH = (() => {
  const oneHot: Record<string, number[]> = { h: [1, 0, 0, 0], e: [0, 1, 0, 0], l: [0, 0, 1, 0], o: [0, 0, 0, 1] };
  return {
    inputs: ['hello', 'eolll', 'lleel'].map((word) => [...word].map((c) => oneHot[c])),
    hiddenSize: 2,
    seed: 42,
  };
})();
