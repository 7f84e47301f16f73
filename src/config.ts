/**
 * Settings, read once from the environment by `main.ts` and handed to `buildApp`. Every limit a request can
 * hit is here, with its environment variable and default (the README's limits table lists the same).
 */
import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const ConfigFromEnv = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: positiveInt(16 * 1024 * 1024),
  MAX_BATCH: positiveInt(1024),
  MAX_TIME_STEPS: positiveInt(10_000),
  MAX_FEATURES: positiveInt(4096),
  MAX_HIDDEN_SIZE: positiveInt(1024),
  MAX_COMPUTE: positiveInt(1_000_000_000),
  SEEDED_WEIGHTS_CACHE: z.coerce.number().int().min(0).default(64),
});

export interface Limits {
  /** Largest request body, in bytes (413 above it). */
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
  readonly maxTimeSteps: number;
  readonly maxFeatures: number;
  readonly maxHiddenSize: number;
  /** Largest `batch · time · (inputDim + hiddenSize) · hiddenSize`: the multiply-adds of one request. */
  readonly maxCompute: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: z.infer<typeof ConfigFromEnv>['LOG_LEVEL'];
  readonly limits: Limits;
  /** How many seeded weight sets are kept, so a repeated seed costs nothing. 0 disables the cache. */
  readonly seededWeightsCache: number;
}

export class ConfigError extends Error {}

/** Reads the settings from environment variables; a bad value throws one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigFromEnv.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`invalid environment variable ${name}=${JSON.stringify(env[name])}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    seededWeightsCache: e.SEEDED_WEIGHTS_CACHE,
    limits: {
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      maxBatch: e.MAX_BATCH,
      maxTimeSteps: e.MAX_TIME_STEPS,
      maxFeatures: e.MAX_FEATURES,
      maxHiddenSize: e.MAX_HIDDEN_SIZE,
      maxCompute: e.MAX_COMPUTE,
    },
  };
}

/** The defaults, as `loadConfig({})` gives them; tests and the OpenAPI generator start from here. */
export const defaultConfig: Config = loadConfig({});
