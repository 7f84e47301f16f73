/**
 * A pre-check of a request body against its zod schema, before zod parses it. It counts the errors that one
 * body can hold by the million, without allocating per value: values of the wrong JSON type (a string where
 * the schema wants a number), numbers out of an integer/range constraint, strings outside an enum, missing
 * required fields and unknown keys of strict objects. When there are more than MAX_REPORTED_ERRORS, the body
 * is rejected with the first of them (in document order) and their count, and zod never sees it.
 *
 * Why: zod builds one issue object per bad value (600,000 for a 2 MB body, seconds of event loop), and for an
 * array of arrays it spreads an inner array's issues into a call (`issues.push(...inner)`), which throws
 * RangeError (stack overflow) past about 120,000 issues: 600,000 strings in `mask` were a 500. Below the
 * threshold zod runs as always and stays the one judge of a body; the pre-check only bounds what it is asked
 * to explain. It reports nothing zod would accept: what it cannot read (lazy, pipe, refine, a union it cannot
 * tell apart) it leaves to zod.
 *
 * The walk is iterative (an explicit stack of containers), so no nesting overflows it. It reads zod 4's schema
 * internals (`_zod.def`) as schema-keys.ts does.
 */
import type { z } from 'zod';
import type { ProblemDetail } from '../../schemas/problem.js';
import { MAX_REPORTED_ERRORS, ProblemError, jsonPath, quoted } from './problem-error.js';
import { unknownKeyProblem } from './schema-problems.js';

type AnyZod = z.core.$ZodType;
type LeafKind = 'number' | 'string' | 'boolean';
/** A value's JSON kind; `other` for what JSON cannot hold (undefined, in a body built in code). */
type Kind = LeafKind | 'null' | 'array' | 'object' | 'other';

interface Leaf {
  readonly t: 'leaf';
  readonly kind: LeafKind;
  readonly nullable: boolean;
  /** Numbers: an integer (zod `.int()`), and the bounds of `.min()`/`.max()`/`.positive()`. */
  readonly int: boolean;
  readonly min: number;
  readonly minInclusive: boolean;
  readonly max: number;
  readonly maxInclusive: boolean;
  /** Strings: the values of an enum or literal, or null for any string. */
  readonly values: ReadonlySet<string> | null;
}

interface ArrayNode {
  readonly t: 'array';
  readonly element: Node;
  readonly nullable: boolean;
  /** How many array levels nest here (`number[][]` is 2), or NaN when an element's depth varies (a union). */
  readonly depth: number;
}

interface ObjectNode {
  readonly t: 'object';
  readonly keys: readonly string[];
  readonly shape: readonly Node[];
  /** Whether the field is required (neither optional nor defaulted). */
  readonly required: readonly boolean[];
  /** A strict object's fields (zod `strictObject`: any other key is an error); null when others are allowed. */
  readonly known: ReadonlySet<string> | null;
  readonly nullable: boolean;
}

interface RecordNode {
  readonly t: 'record';
  readonly value: Node;
  readonly nullable: boolean;
}

interface UnionNode {
  readonly t: 'union';
  readonly options: readonly Node[];
  readonly nullable: boolean;
}

/** Anything else (lazy, pipe, transform, catch, ...): not checked here; zod decides. */
interface Unknown {
  readonly t: 'unknown';
  readonly nullable: boolean;
}

/** What the pre-check knows of a schema: the JSON kind it takes, and for containers what they hold. */
type Node = Leaf | ArrayNode | ObjectNode | RecordNode | UnionNode | Unknown;

const UNKNOWN: Unknown = { t: 'unknown', nullable: false };
/**
 * Wrappers whose inner schema judges any present value: `nullable` adds null; the others only matter for an
 * absent value (which the object walk asks zod's `optin` about).
 */
const WRAPPERS = new Set(['nullable', 'optional', 'default', 'prefault', 'readonly', 'nonoptional']);

interface ZodDef {
  type: string;
  innerType?: AnyZod;
  element?: AnyZod;
  shape?: Record<string, AnyZod>;
  catchall?: AnyZod;
  valueType?: AnyZod;
  options?: AnyZod[];
  entries?: Record<string, unknown>;
  values?: unknown[];
  format?: string;
  checks?: { _zod: { def: { check: string; format?: string; value?: unknown; inclusive?: boolean } } }[];
}

const defOf = (schema: AnyZod) => schema._zod.def as unknown as ZodDef;

/** Strips the wrappers: the schema underneath, and whether it takes null. */
function unwrap(schema: AnyZod): { inner: AnyZod; nullable: boolean } {
  let inner = schema;
  let nullable = false;
  for (;;) {
    const def = defOf(inner);
    if (def.innerType === undefined || !WRAPPERS.has(def.type)) break;
    if (def.type === 'nullable') nullable = true;
    inner = def.innerType;
  }
  return { inner, nullable };
}

function numberLeaf(def: ZodDef, nullable: boolean): Leaf | Unknown {
  let int = def.format === 'safeint';
  let min = Number.NEGATIVE_INFINITY;
  let max = Number.POSITIVE_INFINITY;
  let minInclusive = true;
  let maxInclusive = true;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'number_format' && c.format === 'safeint') int = true;
    else if (c.check === 'greater_than' && typeof c.value === 'number' && c.value >= min) {
      minInclusive = c.value === min ? minInclusive && c.inclusive === true : c.inclusive === true;
      min = c.value;
    } else if (c.check === 'less_than' && typeof c.value === 'number' && c.value <= max) {
      maxInclusive = c.value === max ? maxInclusive && c.inclusive === true : c.inclusive === true;
      max = c.value;
    }
    // Any other check (a refinement, a multiple of, another format) the pre-check does not read: zod does.
  }
  if (def.format !== undefined && def.format !== 'safeint') return { t: 'unknown', nullable };
  return { t: 'leaf', kind: 'number', nullable, int, min, minInclusive, max, maxInclusive, values: null };
}

const stringLeaf = (nullable: boolean, values: ReadonlySet<string> | null): Leaf => ({
  t: 'leaf',
  kind: 'string',
  nullable,
  int: false,
  min: Number.NEGATIVE_INFINITY,
  minInclusive: true,
  max: Number.POSITIVE_INFINITY,
  maxInclusive: true,
  values,
});

const compiled = new WeakMap<AnyZod, Node>();

/** A zod schema → its Node, once per schema. Recursion follows the schema (ours, finite), never the body. */
function compile(schema: AnyZod, active: Set<AnyZod> = new Set()): Node {
  const cached = compiled.get(schema);
  if (cached !== undefined) return cached;
  if (active.has(schema)) return UNKNOWN;
  active.add(schema);
  const { inner, nullable } = unwrap(schema);
  const def = defOf(inner);
  let node: Node = { t: 'unknown', nullable };
  switch (def.type) {
    case 'number':
      node = numberLeaf(def, nullable);
      break;
    case 'string':
      node = stringLeaf(nullable, null);
      break;
    case 'boolean':
      node = { ...stringLeaf(nullable, null), kind: 'boolean' };
      break;
    case 'enum':
    case 'literal': {
      const values = def.type === 'enum' ? Object.values(def.entries ?? {}) : (def.values ?? []);
      if (values.length > 0 && values.every((v) => typeof v === 'string'))
        node = stringLeaf(nullable, new Set(values as string[]));
      break;
    }
    case 'array': {
      const element = def.element ? compile(def.element, active) : UNKNOWN;
      const depth =
        element.t === 'array' ? 1 + element.depth : element.t === 'union' || element.t === 'unknown' ? Number.NaN : 1;
      node = { t: 'array', element, nullable, depth };
      break;
    }
    case 'object': {
      const shape = def.shape ?? {};
      const keys = Object.keys(shape);
      const strict = def.catchall !== undefined && defOf(def.catchall).type === 'never';
      node = {
        t: 'object',
        keys,
        shape: keys.map((key) => compile(shape[key], active)),
        // zod's own test for "absent is an error" (handlePropertyResult): no optional-in marker.
        required: keys.map((key) => shape[key]._zod.optin === undefined),
        known: strict ? new Set(keys) : null,
        nullable,
      };
      break;
    }
    case 'record':
      node = { t: 'record', value: def.valueType ? compile(def.valueType, active) : UNKNOWN, nullable };
      break;
    case 'union': {
      const options: Node[] = [];
      let anyNullable = nullable;
      for (const option of def.options ?? []) {
        const compiledOption = compile(option, active);
        anyNullable ||= compiledOption.nullable;
        if (compiledOption.t === 'union') options.push(...compiledOption.options);
        else options.push(compiledOption);
      }
      node = options.some((o) => o.t === 'unknown')
        ? { t: 'unknown', nullable: anyNullable }
        : { t: 'union', options, nullable: anyNullable };
      break;
    }
  }
  active.delete(schema);
  compiled.set(schema, node);
  return node;
}

function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  if (type === 'number' || type === 'string' || type === 'boolean') return type;
  return type === 'object' ? 'object' : 'other';
}

/** The kind a node takes (null for a union or unknown). */
function kindOfNode(node: Node): Kind | null {
  switch (node.t) {
    case 'leaf':
      return node.kind;
    case 'array':
      return 'array';
    case 'object':
    case 'record':
      return 'object';
    default:
      return null;
  }
}

/** Whether a value of the leaf's kind meets its constraints. Called per element: no allocation. */
function fits(leaf: Leaf, value: unknown): boolean {
  if (leaf.kind === 'number') {
    const n = value as number;
    // JSON reads 1e999 as Infinity, which z.number() rejects.
    if (!Number.isFinite(n)) return false;
    if (leaf.int && !Number.isSafeInteger(n)) return false;
    if (n < leaf.min || (n === leaf.min && !leaf.minInclusive)) return false;
    if (n > leaf.max || (n === leaf.max && !leaf.maxInclusive)) return false;
    return true;
  }
  return leaf.values === null || leaf.values.has(value as string);
}

const KIND_WORDS: Record<Kind, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  null: 'null',
  array: 'an array',
  object: 'an object',
  other: 'not a JSON value',
};

function leafWords(leaf: Leaf): string {
  if (leaf.values !== null) {
    const values = [...leaf.values].map((v) => JSON.stringify(v));
    return values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
  }
  if (leaf.kind !== 'number') return KIND_WORDS[leaf.kind];
  const bounds: string[] = [];
  if (leaf.min > Number.NEGATIVE_INFINITY) bounds.push(`${leaf.minInclusive ? '≥' : '>'} ${leaf.min}`);
  if (leaf.max < Number.POSITIVE_INFINITY) bounds.push(`${leaf.maxInclusive ? '≤' : '<'} ${leaf.max}`);
  return [leaf.int ? 'an integer' : 'a number', ...bounds].join(' ');
}

function nodeWords(node: Node): string {
  if (node.t === 'leaf') return leafWords(node);
  const kind = kindOfNode(node);
  return kind === null ? 'another value' : KIND_WORDS[kind];
}

/** What a node takes, in words: `a boolean`, `an integer ≥ 0`, `a string or an array`, `... or null`. */
function expected(node: Node): string {
  const words = node.t === 'union' ? node.options.map(nodeWords) : [nodeWords(node)];
  if (node.nullable) words.push('null');
  return [...new Set(words)].join(' or ');
}

/** A value as a message shows it: numbers and booleans as they are, strings quoted and cut, others by kind. */
function shown(value: unknown): string {
  const kind = kindOf(value);
  if (kind === 'number' || kind === 'boolean') return String(value);
  if (kind === 'string') return quoted(value as string);
  return KIND_WORDS[kind];
}

/** Nested arrays along the first elements: `[[1], [2]]` → 2; `[[]]` → at least 2 (`open`). */
function depthOf(value: unknown[]): { depth: number; open: boolean } {
  let depth = 0;
  let current: unknown = value;
  while (Array.isArray(current)) {
    depth++;
    if (current.length === 0) return { depth, open: true };
    current = current[0];
  }
  return { depth, open: false };
}

/**
 * The option of a union the value is meant for: by its JSON kind, and among several array options (`data` flat
 * or nested 2 or 3 levels; a matrix or a list of them) by how deep its arrays nest. null: the value is of a kind
 * no option takes. UNKNOWN: unsure, the value is left to zod.
 */
function branchFor(union: UnionNode, value: unknown, kind: Kind): Node | null {
  let match: Node | null = null;
  let matches = 0;
  for (const option of union.options) {
    if (kindOfNode(option) === kind) {
      match = option;
      matches++;
    }
  }
  if (matches <= 1) return match;
  if (kind !== 'array') return UNKNOWN;
  const { depth, open } = depthOf(value as unknown[]);
  let deepest: ArrayNode | null = null;
  let fitting: Node | null = null;
  let fittingCount = 0;
  for (const option of union.options) {
    if (option.t !== 'array') continue;
    if (Number.isNaN(option.depth)) return UNKNOWN;
    if (deepest === null || option.depth > deepest.depth) deepest = option;
    if (open ? option.depth >= depth : option.depth === depth) {
      fitting = option;
      fittingCount++;
    }
  }
  if (fittingCount === 1) return fitting;
  // Deeper than every option: wrong for all of them; the deepest says where (its innermost arrays hold arrays).
  if (fittingCount === 0 && !open && deepest !== null && depth > deepest.depth) return deepest;
  return UNKNOWN;
}

/** A step of the path to a value: the path is built (and `jsonPath` called) only for the values reported. */
interface Step {
  readonly parent: Step | null;
  readonly key: string | number;
}

interface Frame {
  readonly node: ArrayNode | ObjectNode | RecordNode;
  readonly value: unknown[] | Record<string, unknown>;
  readonly path: Step | null;
  /** A record's keys (an object's are its node's). */
  readonly keys: string[] | null;
  /** The next index (or key index) to visit. */
  next: number;
}

function segmentsOf(path: Step | null): (string | number)[] {
  const segments: (string | number)[] = [];
  for (let step = path; step !== null; step = step.parent) segments.push(step.key);
  return segments.reverse();
}

function pathOf(parent: Step | null, key: string | number | null): string {
  const segments = segmentsOf(parent);
  if (key !== null) segments.push(key);
  return jsonPath(segments);
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * More than MAX_REPORTED_ERRORS errors in `body` for `schema` (a zod schema) that the pre-check can see →
 * the problem that lists the first of them, in document order, and counts them all; otherwise null (zod
 * decides, and explains).
 */
export function precheck(schema: unknown, body: unknown): ProblemError | null {
  if (typeof schema !== 'object' || schema === null || !('_zod' in schema)) return null;
  const root = compile(schema as AnyZod);
  const found: ProblemDetail[] = [];
  let count = 0;
  const stack: Frame[] = [];

  const report = (parent: Step | null, key: string | number | null, message: string) => {
    count++;
    if (found.length < MAX_REPORTED_ERRORS) found.push({ path: pathOf(parent, key), message });
  };

  /** One value against its node: counted when wrong, its container stacked to be walked. */
  const visit = (given: Node, value: unknown, parent: Step | null, key: string | number | null) => {
    const kind = kindOf(value);
    if (kind === 'null' && given.nullable) return;
    let node: Node | null = given;
    if (given.t === 'union') {
      node = branchFor(given, value, kind);
      if (node === null) return report(parent, key, `is ${KIND_WORDS[kind]}; expected ${expected(given)}`);
    }
    if (node.t === 'unknown' || (kind === 'null' && node.nullable)) return;
    if (kindOfNode(node) !== kind) return report(parent, key, `is ${KIND_WORDS[kind]}; expected ${expected(node)}`);
    if (node.t === 'leaf') {
      if (!fits(node, value)) report(parent, key, `is ${shown(value)}; expected ${leafWords(node)}`);
      return;
    }
    if (node.t === 'array' && node.element.t === 'leaf') {
      // The common case, and the one that holds millions of values: a loop that allocates nothing per value
      // (not even this array's step of the path, unless it reports).
      const items = value as unknown[];
      const leaf = node.element;
      let path: Step | null | undefined;
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item === leaf.kind ? fits(leaf, item) : item === null && leaf.nullable) continue;
        const itemKind = kindOf(item);
        if (path === undefined) path = key === null ? parent : { parent, key };
        report(
          path,
          i,
          itemKind === leaf.kind
            ? `is ${shown(item)}; expected ${leafWords(leaf)}`
            : `is ${KIND_WORDS[itemKind]}; expected ${expected(leaf)}`,
        );
      }
      return;
    }
    if (node.t === 'array' || node.t === 'object' || node.t === 'record') {
      const path: Step | null = key === null ? parent : { parent, key };
      const container = value as unknown[] | Record<string, unknown>;
      const keys = node.t === 'record' ? Object.keys(container) : null;
      stack.push({ node, value: container, path, keys, next: 0 });
    }
  };

  visit(root, body, null, null);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    const { node } = frame;
    if (node.t === 'array') {
      const items = frame.value as unknown[];
      if (frame.next >= items.length) stack.pop();
      else {
        const i = frame.next++;
        visit(node.element, items[i], frame.path, i);
      }
    } else if (node.t === 'object') {
      const object = frame.value as Record<string, unknown>;
      if (frame.next < node.keys.length) {
        const i = frame.next++;
        const key = node.keys[i];
        if (hasOwn.call(object, key)) visit(node.shape[i], object[key], frame.path, key);
        else if (node.required[i]) report(frame.path, key, `is required (expected ${expected(node.shape[i])})`);
        continue;
      }
      stack.pop();
      // After the fields, as zod reports them: every key of a strict object that is not one of its fields.
      if (node.known !== null) {
        for (const key in object) {
          if (node.known.has(key)) continue;
          count++;
          if (found.length < MAX_REPORTED_ERRORS) found.push(unknownKeyProblem(schema, segmentsOf(frame.path), key));
        }
      }
    } else {
      const keys = frame.keys as string[];
      if (frame.next >= keys.length) stack.pop();
      else {
        const key = keys[frame.next++];
        visit(node.value, (frame.value as Record<string, unknown>)[key], frame.path, key);
      }
    }
  }
  return count > MAX_REPORTED_ERRORS ? ProblemError.at('invalid-request', found, count) : null;
}

/** Whether `error` is V8's stack overflow, which zod can still reach on a body the pre-check let through. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * The answer when zod overflowed the stack on a body the pre-check let through (a union tried against an array
 * of over 100,000 entries, far beyond every default limit): a 400 that says so, not a 500.
 */
export function tooLargeToValidate(): ProblemError {
  return ProblemError.at('limit-exceeded', [
    {
      path: '$',
      message: 'has arrays too large to validate (hundreds of thousands of entries); send smaller requests',
    },
  ]);
}
