/**
 * Fast path of: the zod schemas in forward.ts and models.ts (held equal by test/schemas/forward-shortcut.test.ts).
 *
 * A shortcut past zod for the POST /rnn/forward bodies most callers send: numeric `inputs` (nested or flat)
 * and the single-layer seeded model fields (and for a served model's body, `inputs` and the output options).
 * It either returns exactly what the schema's `parse` returns (defaults filled in) or null, meaning "ask zod": anything
 * else (another field, a wrong type, a value out of
 * range, an unknown key) goes to the schema, which stays the one source of truth and writes every error.
 * It may only ever say null where zod would accept, never accept what zod rejects:
 * test/schemas/forward-shortcut.test.ts holds it to that over generated valid and invalid bodies.
 *
 * Why: zod allocates a result object per array element and runs through generic, megamorphic code; on a
 * hello-sized request that was ~7 µs of ~75 µs of server CPU, and on a large body several times JSON.parse.
 */
import { ACTIVATION_NAMES } from '../src/engine/activations.js';
import { ForwardRequest, MAX_SEED } from './forward.js';
import { ModelForwardRequest } from './models.js';

const ACTIVATIONS: ReadonlySet<unknown> = new Set(ACTIVATION_NAMES);

/** z.number(): a finite number (zod rejects NaN and ±Infinity). */
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** z.array(z.number()). */
function isNumberArray(x: unknown): x is number[] {
  if (!Array.isArray(x)) return false;
  for (let i = 0; i < x.length; i++) if (!isFiniteNumber(x[i])) return false;
  return true;
}

/** z.array(z.array(z.array(z.number()))). */
function isNested3(x: unknown[]): x is number[][][] {
  for (let b = 0; b < x.length; b++) {
    const sequence = x[b];
    if (!Array.isArray(sequence)) return false;
    for (let t = 0; t < sequence.length; t++) if (!isNumberArray(sequence[t])) return false;
  }
  return true;
}

/** FlatTensor: a strict object of `shape` (safe integers ≥ 0) and `data` (finite numbers), both required. */
function isFlatTensor(x: object): x is { shape: number[]; data: number[] } {
  for (const key in x) if (key !== 'shape' && key !== 'data') return false;
  if (Object.getPrototypeOf(x) !== Object.prototype) return false;
  const { shape, data } = x as { shape: unknown; data: unknown };
  if (!Array.isArray(shape)) return false;
  for (let i = 0; i < shape.length; i++) if (!(Number.isSafeInteger(shape[i]) && shape[i] >= 0)) return false;
  return isNumberArray(data);
}

/** The fields a shortcut can check, and how. */
const COVERED_FIELDS = [
  'inputs',
  'hiddenSize',
  'seed',
  'activation',
  'clip',
  'outputFormat',
  'useBias',
  'goBackwards',
  'zeroOutputForMask',
  'returnSequences',
  'returnState',
] as const;
type CoveredField = (typeof COVERED_FIELDS)[number];

/**
 * A shortcut for a strict object schema built from ForwardRequest's fields (ForwardRequest itself, or a pick
 * of it): it takes the bodies whose every key is one of the schema's fields it covers, `inputs` among them,
 * and fills in the defaults the schema declares (read from the schema: what it makes of `{}`).
 */
function shortcutFor<T extends object>(schema: {
  shape: Record<string, unknown>;
  parse(body: unknown): T;
}): (body: unknown) => T | null {
  const fields = new Set<string>(COVERED_FIELDS.filter((field) => field in schema.shape));
  const defaults = schema.parse({}) as Record<string, unknown>;
  return (body) => {
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      Object.getPrototypeOf(body) !== Object.prototype
    )
      return null;
    // Built key by key on a literal, not as { ...defaults }: V8 does not cache the transitions of an object
    // cloned by spread, so each property added to the clone took a slow path (~1.2 µs each, 4 µs a hello
    // body), and the clone's maps made every later read of the request slower too (another ~5 µs).
    const out: Record<string, unknown> = {};
    for (const key in defaults) out[key] = defaults[key];
    const given = body as Record<string, unknown>;
    for (const key in given) {
      if (!fields.has(key) || !valid(key as CoveredField, given[key])) return null;
      out[key] = given[key];
    }
    return out.inputs === undefined ? null : (out as T);
  };
}

/** Whether `value` passes the field's schema (which then returns it unchanged: no field here has a default inside). */
function valid(field: CoveredField, value: unknown): boolean {
  switch (field) {
    case 'inputs':
      if (typeof value !== 'object' || value === null) return false;
      return Array.isArray(value) ? isNested3(value) : isFlatTensor(value);
    case 'hiddenSize':
      return Number.isSafeInteger(value) && (value as number) >= 1;
    case 'seed':
      return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SEED;
    case 'activation':
      return ACTIVATIONS.has(value);
    case 'clip':
      return isFiniteNumber(value) && value > 0;
    case 'outputFormat':
      return value === 'nested' || value === 'flat';
    case 'useBias':
    case 'goBackwards':
    case 'zeroOutputForMask':
    case 'returnSequences':
    case 'returnState':
      return value === true || value === false;
  }
}

/**
 * `ForwardRequest.parse(body)` for the common fields, or null to let zod decide. The arrays of the result
 * are the body's own (zod copies them; nothing here writes to them).
 */
export const parseCommonForwardRequest: (body: unknown) => ForwardRequest | null = shortcutFor(ForwardRequest);

/** The same for `ModelForwardRequest` (a served model's body: `inputs` and the output options). */
export const parseCommonModelForwardRequest: (body: unknown) => ModelForwardRequest | null =
  shortcutFor(ModelForwardRequest);
