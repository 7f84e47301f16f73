/**
 * "Did you mean …?" for unknown fields: finds the object schema at a JSON path inside a zod schema and the
 * known key that differs from the unknown one only by case, `_` or `-` (`hidden_size` → `hiddenSize`).
 */
import type { z } from 'zod';

type AnyZod = z.core.$ZodType;

function unwrap(schema: AnyZod): AnyZod {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnyZod };
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType)
      current = def.innerType;
    else return current;
  }
}

function objectAt(schema: unknown, path: readonly (string | number)[]): Record<string, AnyZod> | null {
  if (typeof schema !== 'object' || schema === null || !('_zod' in schema)) return null;
  let current = unwrap(schema as AnyZod);
  for (const segment of path) {
    const def = current._zod.def as { type: string; shape?: Record<string, AnyZod>; element?: AnyZod };
    if (typeof segment === 'number' && def.type === 'array' && def.element) current = unwrap(def.element);
    else if (typeof segment === 'string' && def.type === 'object' && def.shape?.[segment])
      current = unwrap(def.shape[segment]);
    else return null;
  }
  const def = current._zod.def as { type: string; shape?: Record<string, AnyZod> };
  return def.type === 'object' && def.shape ? def.shape : null;
}

const normalise = (key: string) => key.toLowerCase().replace(/[_\-\s]/g, '');

export function suggestKey(schema: unknown, path: readonly (string | number)[], unknownKey: string): string | null {
  const shape = objectAt(schema, path);
  if (shape === null) return null;
  const wanted = normalise(unknownKey);
  return Object.keys(shape).find((key) => normalise(key) === wanted) ?? null;
}
