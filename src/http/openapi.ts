/**
 * The OpenAPI document as clients should see it. fastify-type-provider-zod registers every named schema
 * twice (input and output form, `XInput` and `X`); this keeps only the components the paths reach and
 * gives the request-side ones their plain names (`ForwardRequestInput` → `ForwardRequest`). Operations without
 * an `operationId` get one from their method and path (`POST /models/{name}/forward` → `postModelsNameForward`):
 * generated clients name their functions after it.
 */
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';

type TransformObject = typeof jsonSchemaTransformObject;
type Json = unknown;

const REF_PREFIX = '#/components/schemas/';

function collectRefs(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) node.forEach((item) => collectRefs(item, into));
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX))
        into.add(value.slice(REF_PREFIX.length));
      else collectRefs(value, into);
    }
  }
}

function renameRefs(node: Json, names: Map<string, string>): Json {
  if (Array.isArray(node)) return node.map((item) => renameRefs(item, names));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => {
        if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) {
          const name = value.slice(REF_PREFIX.length);
          return [key, REF_PREFIX + (names.get(name) ?? name)];
        }
        return [key, renameRefs(value, names)];
      }),
    );
  }
  return node;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** `post`, `/models/{name}/forward` → `postModelsNameForward`; `get`, `/` → `getRoot`. */
export function operationIdOf(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((word) => word !== '');
  if (words.length === 0) words.push('root');
  return method + words.map((word) => word[0].toUpperCase() + word.slice(1)).join('');
}

// biome-ignore lint/suspicious/noExplicitAny: the generated document is walked as plain JSON, field by field
function withOperationIds(paths: Record<string, any>): Record<string, any> {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item as Record<string, { operationId?: string }>)) {
      if (HTTP_METHODS.has(method) && operation.operationId === undefined)
        operation.operationId = operationIdOf(method, path);
    }
  }
  return paths;
}

export const tidyOpenApi: TransformObject = (input) => {
  // biome-ignore lint/suspicious/noExplicitAny: the generated document is walked as plain JSON, field by field
  const document = jsonSchemaTransformObject(input) as Record<string, any>;
  const schemas: Record<string, Json> = document.components?.schemas ?? {};
  // Reachable: referenced from the paths, then from reachable components, until nothing new turns up.
  const reachable = new Set<string>();
  collectRefs(document.paths, reachable);
  for (let size = -1; size !== reachable.size; ) {
    size = reachable.size;
    for (const name of [...reachable]) collectRefs(schemas[name], reachable);
  }
  const names = new Map<string, string>();
  for (const name of reachable) {
    const plain = name.replace(/Input$/, '');
    if (plain !== name && !reachable.has(plain)) names.set(name, plain);
  }
  const kept: Record<string, Json> = {};
  for (const name of Object.keys(schemas).sort()) {
    if (reachable.has(name)) kept[names.get(name) ?? name] = renameRefs(schemas[name], names);
  }
  return {
    ...document,
    paths: withOperationIds(renameRefs(document.paths, names) as Record<string, Json>),
    components: { ...document.components, schemas: kept },
  } as ReturnType<TransformObject>;
};
