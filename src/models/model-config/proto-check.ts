/**
 * A text-format tree (text-format.ts), or a JSON object in protobuf's JSON mapping, checked against a message type
 * loaded by protobufjs from its .proto file: every field must exist ("no such field; did you mean ...?"), hold a
 * value of its type (enums by name, integers in their range, 64-bit integers as bigint), be given once unless it
 * is repeated, and share no oneof with another. The result is plain data with the proto's own field names, and
 * the line of every field, for messages that name the line.
 */
import type { Enum, FieldBase, MapField, Type } from 'protobufjs';
import type { ScalarToken, TextField, TextValue } from './text-format.js';

export type ProtoScalar = number | bigint | boolean | string | Uint8Array;
export type ProtoValue = ProtoScalar | ProtoMessage | readonly ProtoValue[] | ProtoMap;
export interface ProtoMessage {
  readonly [field: string]: ProtoValue;
}
/** A map field: keys as their type reads (strings, numbers for 32-bit integers, bigints for 64-bit ones, booleans). */
export type ProtoMap = ReadonlyMap<string | number | bigint | boolean, ProtoValue>;

/** A checked message and where each of its fields was written: path (`input[0].dims`) → line (0: not from text). */
export interface CheckedMessage {
  readonly message: ProtoMessage;
  readonly lines: ReadonlyMap<string, number>;
}

/** A value that does not fit the type: at `path` (`dynamic_batching.max_queue_delay_microseconds`), `line` (0: none). */
export class ProtoCheckError extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'ProtoCheckError';
  }
}

const RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};
/** A field of a message type; protobufjs types map fields apart from the others. */
const fieldOf = (type: Type, name: string): FieldBase | undefined => type.fields[name] as FieldBase | undefined;
const mapField = (field: FieldBase): MapField | null => (field.map ? (field as unknown as MapField) : null);

const LONG = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);

/** The edit distance of two short names (field and enum value names), for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The known name closest to `name`: the same letters ignoring case and `_`, else the one name ending so (`GPU` for
 * KIND_GPU, `FP32` for TYPE_FP32), else one at most 2 edits away; or null.
 */
export function closest(name: string, known: readonly string[]): string | null {
  const plain = (s: string) => s.toLowerCase().replace(/_/g, '');
  const same = known.find((k) => plain(k) === plain(name));
  if (same !== undefined) return same;
  const endings = plain(name).length < 2 ? [] : known.filter((k) => plain(k).endsWith(plain(name)));
  if (endings.length === 1) return endings[0];
  let best: string | null = null;
  let bestDistance = 3;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

const didYouMean = (name: string, known: readonly string[]) => {
  const hint = closest(name, known);
  return hint === null ? '' : `; did you mean ${hint}?`;
};

/** `a float`, `an int32`. */
const article = (type: string) => `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;

const join = (path: string, name: string) => (path === '' ? name : `${path}.${name}`);

function describeToken(token: ScalarToken): string {
  if (token.type === 'string') return 'a string';
  return token.type === 'number' ? `${token.text}` : `'${token.text}'`;
}

/** A text-format integer: decimal, hex (0x1F) or octal (017), with its sign; null when it is not one. */
function parseInteger(text: string): bigint | null {
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  let value: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(digits)) value = BigInt(digits);
  else if (/^0[0-7]+$/.test(digits)) value = BigInt(`0o${digits.slice(1)}`);
  else if (/^(0|[1-9][0-9]*)$/.test(digits)) value = BigInt(digits);
  else return null;
  return negative ? -value : value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readScalar(type: string, token: ScalarToken, path: string, line: number): ProtoScalar {
  const fail = (problem: string): never => {
    throw new ProtoCheckError(path, line, problem);
  };
  if (type === 'string') {
    if (token.type !== 'string') fail(`expected a string in quotes; got ${describeToken(token)}`);
    try {
      return utf8.decode((token as { bytes: Uint8Array }).bytes);
    } catch {
      return fail('is not valid UTF-8');
    }
  }
  if (type === 'bytes') {
    if (token.type !== 'string') fail(`expected a string of bytes in quotes; got ${describeToken(token)}`);
    return (token as { bytes: Uint8Array }).bytes;
  }
  if (token.type === 'string')
    return fail(`expected ${article(type)}; got a string (values of this field are not quoted)`);
  const text = token.text;
  if (type === 'bool') {
    if (/^(true|True|t|1)$/.test(text)) return true;
    if (/^(false|False|f|0)$/.test(text)) return false;
    return fail(`expected true or false; got ${describeToken(token)}`);
  }
  if (type === 'float' || type === 'double') {
    if (token.type === 'identifier') {
      const special = /^(-?)(inf|infinity|nan)$/i.exec(text);
      if (special === null) return fail(`expected a number; got ${describeToken(token)}`);
      return special[2].toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity;
    }
    const integer = parseInteger(text);
    return integer !== null ? Number(integer) : Number(text.replace(/[fF]$/, ''));
  }
  const range = RANGES[type];
  if (range === undefined) return fail(`has the type ${type}, which this reader does not know`);
  const value = token.type === 'number' ? parseInteger(text) : null;
  if (value === null) return fail(`expected a whole number (${type}); got ${describeToken(token)}`);
  if (value < range[0] || value > range[1])
    return fail(`is ${value}, outside the range of ${type} [${range[0]}, ${range[1]}]`);
  return LONG.has(type) ? value : Number(value);
}

function readEnum(type: Enum, token: ScalarToken, path: string, line: number): string {
  const names = Object.keys(type.values);
  if (token.type === 'identifier') {
    if (token.text in type.values) return token.text;
    throw new ProtoCheckError(
      path,
      line,
      `'${token.text}' is not a value of ${type.name}${didYouMean(token.text, names)}${names.length <= 8 ? ` (values: ${names.join(', ')})` : ''}`,
    );
  }
  if (token.type === 'number') {
    const value = parseInteger(token.text);
    const name = value === null ? undefined : type.valuesById[Number(value)];
    if (name !== undefined) return name;
  }
  throw new ProtoCheckError(
    path,
    line,
    `expected a value of ${type.name} (${names.join(', ')}); got ${describeToken(token)}`,
  );
}

class Checker {
  readonly lines = new Map<string, number>();

  message(type: Type, fields: readonly TextField[], path: string): ProtoMessage {
    const out: Record<string, ProtoValue> = {};
    const given = new Map<string, number>();
    const oneofs = new Map<string, { name: string; line: number }>();
    for (const entry of fields) {
      const field = fieldOf(type, entry.name);
      const at = join(path, entry.name);
      if (field === undefined)
        throw new ProtoCheckError(at, entry.line, `no such field${didYouMean(entry.name, Object.keys(type.fields))}`);
      const oneof = field.partOf;
      if (oneof !== null) {
        const other = oneofs.get(oneof.name);
        if (other !== undefined && other.name !== entry.name)
          throw new ProtoCheckError(
            at,
            entry.line,
            `cannot be given with ${join(path, other.name)}${other.line > 0 ? ` (line ${other.line})` : ''}: they are alternatives (oneof ${oneof.name})`,
          );
        oneofs.set(oneof.name, { name: entry.name, line: entry.line });
      }
      if (!this.lines.has(at)) this.lines.set(at, entry.line);
      const map = mapField(field);
      if (map !== null) {
        const entries =
          (out[entry.name] as Map<string | number | bigint | boolean, ProtoValue> | undefined) ?? new Map();
        this.mapEntries(map, entry, at, entries);
        out[entry.name] = entries;
      } else if (field.repeated) {
        const items = entry.value.kind === 'list' ? entry.value.items : [entry.value];
        const list = (out[entry.name] as ProtoValue[] | undefined) ?? [];
        for (const item of items) {
          const itemPath = `${at}[${list.length}]`;
          this.lines.set(itemPath, item.line);
          list.push(this.single(field, item, itemPath));
        }
        out[entry.name] = list;
      } else {
        const first = given.get(entry.name);
        if (first !== undefined)
          throw new ProtoCheckError(
            at,
            entry.line,
            `is given twice${first > 0 ? ` (first on line ${first})` : ''}; it is not a repeated field`,
          );
        given.set(entry.name, entry.line);
        if (entry.value.kind === 'list')
          throw new ProtoCheckError(at, entry.line, 'is given a list, but it is not a repeated field');
        out[entry.name] = this.single(field, entry.value, at);
      }
    }
    return out;
  }

  single(field: FieldBase, value: TextValue, path: string): ProtoValue {
    const resolved = field.resolvedType;
    if (resolved !== null && 'fields' in resolved) {
      if (value.kind !== 'message')
        throw new ProtoCheckError(
          path,
          value.line,
          `expected a message { ... } (${resolved.name}); got a ${value.kind}`,
        );
      return this.message(resolved as Type, value.fields, path);
    }
    if (value.kind === 'list') throw new ProtoCheckError(path, value.line, 'a list inside a list is not allowed');
    if (value.kind === 'message')
      throw new ProtoCheckError(
        path,
        value.line,
        `expected ${resolved !== null ? `a value of ${resolved.name}` : article(field.type)}; got a message { ... }`,
      );
    if (resolved !== null) return readEnum(resolved as Enum, value.token, path, value.line);
    return readScalar(field.type, value.token, path, value.line);
  }

  mapEntries(
    field: MapField,
    entry: TextField,
    path: string,
    map: Map<string | number | bigint | boolean, ProtoValue>,
  ): void {
    const items = entry.value.kind === 'list' ? entry.value.items : [entry.value];
    for (const item of items) {
      if (item.kind !== 'message')
        throw new ProtoCheckError(path, item.line, 'expected a map entry { key: ... value: ... }');
      let keyField: TextField | undefined;
      let valueField: TextField | undefined;
      for (const part of item.fields) {
        if (part.name !== 'key' && part.name !== 'value')
          throw new ProtoCheckError(`${path}.${part.name}`, part.line, 'a map entry has only key and value');
        if ((part.name === 'key' ? keyField : valueField) !== undefined)
          throw new ProtoCheckError(`${path}.${part.name}`, part.line, 'is given twice in one map entry');
        if (part.name === 'key') keyField = part;
        else valueField = part;
      }
      if (keyField === undefined) throw new ProtoCheckError(path, item.line, 'a map entry needs a key');
      if (keyField.value.kind !== 'scalar')
        throw new ProtoCheckError(`${path}.key`, keyField.line, `expected ${article(field.keyType)}`);
      const key = readScalar(field.keyType, keyField.value.token, `${path}.key`, keyField.line) as
        | string
        | number
        | bigint
        | boolean;
      const at = `${path}[${typeof key === 'string' ? JSON.stringify(key) : String(key)}]`;
      if (map.has(key)) throw new ProtoCheckError(at, keyField.line, 'this key is given twice');
      this.lines.set(at, item.line);
      const resolved = field.resolvedType;
      let value: ProtoValue;
      if (valueField === undefined) value = resolved !== null && 'fields' in resolved ? {} : defaultScalar(field);
      else value = this.single(field, valueField.value, at);
      map.set(key, value);
    }
  }
}

function defaultScalar(field: FieldBase): ProtoValue {
  if (field.resolvedType !== null) return Object.keys((field.resolvedType as Enum).values)[0];
  if (field.type === 'string') return '';
  if (field.type === 'bool') return false;
  if (field.type === 'bytes') return new Uint8Array();
  return LONG.has(field.type) ? 0n : 0;
}

/** The fields of a text-format message checked against `type`; a ProtoCheckError names the first problem. */
export function checkTextMessage(type: Type, fields: readonly TextField[]): CheckedMessage {
  const checker = new Checker();
  return { message: checker.message(type, fields, ''), lines: checker.lines };
}

/** lower_snake_case → lowerCamelCase: the JSON name of a proto field. */
const jsonName = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A JSON scalar as the token the text format would have: what checkTextMessage reads for a field of `type`. */
function jsonToken(value: unknown, type: string, path: string): ScalarToken {
  if (typeof value === 'boolean') return { type: 'identifier', text: String(value) };
  if (typeof value === 'number')
    return { type: 'number', text: Number.isInteger(value) ? BigInt(value).toString() : String(value) };
  if (typeof value !== 'string')
    throw new ProtoCheckError(path, 0, `expected ${article(type)}; got ${value === null ? 'null' : typeof value}`);
  if (type === 'string') return { type: 'string', bytes: new TextEncoder().encode(value) };
  if (type === 'bytes') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw new ProtoCheckError(path, 0, 'expected base64 bytes');
    return { type: 'string', bytes: Uint8Array.from(Buffer.from(value, 'base64')) };
  }
  // Protobuf's JSON writes 64-bit integers, enums and Infinity/NaN as strings.
  if (/^-?[0-9]/.test(value)) return { type: 'number', text: value };
  return { type: 'identifier', text: value };
}

function jsonValue(field: FieldBase, value: unknown, path: string): TextValue {
  const resolved = field.resolvedType;
  if (resolved !== null && 'fields' in resolved) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new ProtoCheckError(path, 0, `expected an object (${resolved.name})`);
    return { kind: 'message', fields: jsonFields(resolved as Type, value as Record<string, unknown>, path), line: 0 };
  }
  return { kind: 'scalar', token: jsonToken(value, resolved !== null ? 'enum' : field.type, path), line: 0 };
}

function jsonFields(type: Type, object: Record<string, unknown>, path: string): TextField[] {
  const byJsonName = new Map(Object.keys(type.fields).map((name) => [jsonName(name), name]));
  const fields: TextField[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (value === null) continue;
    const name = fieldOf(type, key) !== undefined ? key : (byJsonName.get(key) ?? key);
    const field = fieldOf(type, name);
    const at = join(path, key);
    if (field === undefined)
      throw new ProtoCheckError(at, 0, `no such field${didYouMean(key, Object.keys(type.fields))}`);
    const map = mapField(field);
    if (map !== null) {
      if (typeof value !== 'object' || Array.isArray(value))
        throw new ProtoCheckError(at, 0, 'expected an object (a map)');
      const items = Object.entries(value as Record<string, unknown>).map(
        ([k, v]): TextValue => ({
          kind: 'message',
          line: 0,
          fields: [
            {
              name: 'key',
              line: 0,
              value: { kind: 'scalar', token: jsonToken(k, map.keyType, at), line: 0 },
            },
            { name: 'value', line: 0, value: jsonValue(field, v, `${at}[${JSON.stringify(k)}]`) },
          ],
        }),
      );
      fields.push({ name, line: 0, value: { kind: 'list', items, line: 0 } });
    } else if (Array.isArray(value)) {
      if (!field.repeated) throw new ProtoCheckError(at, 0, 'is given a list, but it is not a repeated field');
      fields.push({
        name,
        line: 0,
        value: { kind: 'list', items: value.map((v, i) => jsonValue(field, v, `${at}[${i}]`)), line: 0 },
      });
    } else fields.push({ name, line: 0, value: jsonValue(field, value, at) });
  }
  return fields;
}

/**
 * A JSON object in protobuf's JSON mapping (proto or lowerCamel field names, 64-bit integers and enums as strings or
 * numbers, maps as objects, bytes in base64) checked against `type` as checkTextMessage checks text (lines are 0).
 */
export function checkJsonMessage(type: Type, object: Record<string, unknown>): CheckedMessage {
  return checkTextMessage(type, jsonFields(type, object, ''));
}
