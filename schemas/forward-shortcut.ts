/**
 * A shortcut past zod for the POST /rnn/forward bodies most callers send: numeric `inputs` (nested or flat)
 * and the single-layer seeded model fields. It either returns exactly what `ForwardRequest.parse` returns
 * (defaults filled in) or null, meaning "ask zod": anything else (another field, a wrong type, a value out of
 * range, an unknown key) goes to the schema, which stays the one source of truth and writes every error.
 * It may only ever say null where zod would accept, never accept what zod rejects:
 * test/schemas/forward-shortcut.test.ts holds it to that over generated valid and invalid bodies.
 *
 * Why: zod allocates a result object per array element and runs through generic, megamorphic code; on a
 * hello-sized request that was ~7 µs of ~75 µs of server CPU, and on a large body several times JSON.parse.
 */
import { ACTIVATION_NAMES } from '../src/engine/activations.js';
import { type ForwardRequest, MAX_SEED } from './forward.js';

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

const isBoolean = (x: unknown): x is boolean => x === true || x === false;

/**
 * `ForwardRequest.parse(body)` for the common fields, or null to let zod decide. The arrays of the result
 * are the body's own (zod copies them; nothing here writes to them).
 */
export function parseCommonForwardRequest(body: unknown): ForwardRequest | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.getPrototypeOf(body) !== Object.prototype) return null;
  const out: ForwardRequest = { zeroOutputForMask: false, returnSequences: true, returnState: true, outputFormat: 'nested' };
  const fields = body as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key];
    switch (key) {
      case 'inputs':
        if (typeof value !== 'object' || value === null) return null;
        if (Array.isArray(value) ? !isNested3(value) : !isFlatTensor(value)) return null;
        out.inputs = value as ForwardRequest['inputs'];
        break;
      case 'hiddenSize':
        if (!(Number.isSafeInteger(value) && (value as number) >= 1)) return null;
        out.hiddenSize = value as number;
        break;
      case 'seed':
        if (!(Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_SEED)) return null;
        out.seed = value as number;
        break;
      case 'activation':
        if (!ACTIVATIONS.has(value)) return null;
        out.activation = value as ForwardRequest['activation'];
        break;
      case 'clip':
        if (!(isFiniteNumber(value) && value > 0)) return null;
        out.clip = value;
        break;
      case 'outputFormat':
        if (value !== 'nested' && value !== 'flat') return null;
        out.outputFormat = value;
        break;
      case 'useBias':
      case 'goBackwards':
      case 'zeroOutputForMask':
      case 'returnSequences':
      case 'returnState':
        if (!isBoolean(value)) return null;
        out[key] = value;
        break;
      default:
        return null;
    }
  }
  return out.inputs === undefined ? null : out;
}
