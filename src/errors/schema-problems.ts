/**
 * Schema errors as problem details: zod's issues (as the zod type provider hands them to Fastify's error
 * handler, or straight from `safeParse` on a worker) → one entry per offending JSON path, in words a client
 * can act on; at most MAX_REPORTED_ERRORS listed, all counted. No Fastify here: the worker that parses large bodies reports through the same code.
 */
import type { ProblemDetail } from '../../schemas/problem.js';
import { MAX_REPORTED_ERRORS, ProblemError, jsonPath } from './problem-error.js';
import { suggestKey } from './schema-keys.js';

/** One validation error as fastify-type-provider-zod shapes it (Ajv's shape: keyword, instancePath, params). */
export interface ValidationEntry {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/inputs/0/1` (the zod type provider's instancePath) → `['inputs', 0, 1]`. */
function segmentsOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  keys?: string[];
  errors?: ZodIssueLike[][];
}

/**
 * A union failure (e.g. `inputs` as nested arrays or as a flat tensor) is reported through the branch
 * the value was meant for: the one whose errors are not "wrong type at the top". Its nested paths are
 * far more useful than zod's bare "Invalid input".
 */
function meantBranch(branches: ZodIssueLike[][]): ZodIssueLike[] | null {
  return branches.find((branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type')) ?? null;
}

/** The issue, or the issues of the branch a union meant, with their full paths; stops after MAX_REPORTED_ERRORS. */
function expandIssue(issue: ZodIssueLike, base: PropertyKey[]): ZodIssueLike[] {
  const path = [...base, ...issue.path];
  if (issue.code !== 'invalid_union' || !issue.errors) return [{ ...issue, path }];
  const meant = meantBranch(issue.errors);
  if (meant !== null) {
    const out: ZodIssueLike[] = [];
    for (const inner of meant) {
      if (out.length >= MAX_REPORTED_ERRORS) break;
      out.push(...expandIssue(inner, path).slice(0, MAX_REPORTED_ERRORS - out.length));
    }
    return out;
  }
  const expected = [
    ...new Set(issue.errors.flatMap((branch) => branch.map((i) => i.expected).filter((e) => e !== undefined))),
  ];
  return [{ ...issue, path, message: `Invalid input: expected ${expected.join(' or ')}` }];
}

/** The problem of an unknown key at `segments` in a body for `bodySchema`: "is not a known field; did you mean ...?" */
export function unknownKeyProblem(
  bodySchema: unknown,
  segments: readonly (string | number)[],
  key: string,
): ProblemDetail {
  const hint = suggestKey(bodySchema, segments, key);
  return {
    path: jsonPath([...segments, key]),
    message: `is not a known field${hint === null ? '' : `; did you mean ${hint}?`}`,
  };
}

/** How many problems an issue stands for: one per unknown key, one per issue of the branch a union meant. */
function countOf(issue: ZodIssueLike): number {
  if (issue.code === 'unrecognized_keys') return issue.keys?.length ?? 1;
  if (issue.code !== 'invalid_union' || !issue.errors) return 1;
  const meant = meantBranch(issue.errors);
  if (meant === null) return 1;
  let count = 0;
  for (const inner of meant) count += countOf(inner);
  return count;
}

/**
 * Validation entries → one problem detail per offending JSON path, unknown keys with a "did you mean". At most
 * MAX_REPORTED_ERRORS are listed (only those get a "did you mean"); the rest are counted into the problem's
 * errorCount, so 200,000 unknown keys make a small answer that still says how many there were.
 */
export function schemaProblem(bodySchema: unknown, entries: readonly ValidationEntry[]): ProblemError {
  const out: ProblemDetail[] = [];
  let count = 0;
  for (const entry of entries) {
    if (out.length >= MAX_REPORTED_ERRORS) {
      // Past the list only the count matters: no issue object, no path (zod may have made 600,000 entries).
      const { keys, errors } = entry.params as Pick<ZodIssueLike, 'keys' | 'errors'>;
      count +=
        entry.keyword === 'unrecognized_keys'
          ? (keys?.length ?? 1)
          : entry.keyword === 'invalid_union'
            ? countOf({ code: entry.keyword, path: [], message: '', errors })
            : 1;
      continue;
    }
    const issue = {
      code: entry.keyword,
      path: [],
      message: entry.message ?? entry.keyword,
      ...(entry.params as object),
    } as ZodIssueLike;
    count += countOf(issue);
    for (const expanded of expandIssue(issue, segmentsOf(entry.instancePath))) {
      if (out.length >= MAX_REPORTED_ERRORS) break;
      const segments = expanded.path as (string | number)[];
      if (expanded.code === 'unrecognized_keys') {
        for (const key of expanded.keys ?? []) {
          if (out.length >= MAX_REPORTED_ERRORS) break;
          out.push(unknownKeyProblem(bodySchema, segments, key));
        }
        continue;
      }
      let message = expanded.message;
      const missing = /^Invalid input: expected (\w+), received undefined$/.exec(message);
      if (missing) message = `is required (expected ${missing[1]})`;
      out.push({ path: jsonPath(segments), message });
    }
  }
  return ProblemError.at('invalid-request', out, count);
}

/** zod issues → the entries the zod type provider would have made of them (same keyword, path and params). */
export function validationEntries(
  issues: readonly { code: string; path: PropertyKey[]; message: string }[],
): ValidationEntry[] {
  return issues.map(({ code, path, message, ...params }) => ({
    keyword: code,
    instancePath: `/${path.join('/')}`,
    message,
    params,
  }));
}
