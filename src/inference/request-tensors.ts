/**
 * Checks and readers for the tensors of an inference request (request.ts) that every backend shares: the
 * datatypes a model takes, a binary tensor's byte count against its shape, and JSON data walked against its shape.
 * Problems are named where the client wrote the tensor (`tensor.at`).
 */
import { BYTES_PER_ELEMENT } from '../codec/binary-tensors.js';
import { invalidAt, truncated } from '../errors/problem-error.js';
import type { RequestTensor } from './request.js';

export const FLOAT_DATATYPES = ['FP32', 'FP64', 'FP16'];
export const INTEGER_DATATYPES = ['INT64', 'INT32'];

export const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The shape of a tensor whose shape was sent (every tensor but nested JSON and texts). */
export function sentShape(tensor: RequestTensor): readonly number[] {
  if (tensor.shape === null) throw new Error(`tensor '${tensor.name}' has no shape`);
  return tensor.shape;
}

/** The tensor's datatype is one of `accepted` (the first is the one the model declares); `what` ends the message. */
export function checkDatatype(tensor: RequestTensor, accepted: readonly string[], what: string): void {
  const datatype = tensor.datatype ?? accepted[0];
  if (!accepted.includes(datatype))
    invalidAt(
      `${tensor.at.tensor}.datatype`,
      `is '${truncated(datatype)}'; input '${truncated(tensor.name)}' is ${accepted[0]}${accepted.length > 1 ? ` (also accepted: ${accepted.slice(1).join(', ')})` : ''}${what}`,
    );
}

/** A binary tensor's byte count fits its shape and datatype. */
export function checkByteSize(tensor: RequestTensor): void {
  if (tensor.values.kind !== 'bytes') return;
  const datatype = tensor.datatype ?? 'FP32';
  const size = BYTES_PER_ELEMENT[datatype];
  const shape = sentShape(tensor);
  const elements = product(shape);
  if (tensor.values.value.length !== elements * size)
    invalidAt(
      tensor.at.size ?? tensor.at.data,
      `is ${tensor.values.value.length}; shape [${shape.join(', ')}] of ${datatype} takes ${elements * size} bytes ` +
        `(${elements} elements of ${size} bytes)`,
    );
}

/** Flat or nested JSON `data` → flat numbers; a nested array must follow `shape` level by level. */
function flatData(data: readonly unknown[], shape: readonly number[], path: string): readonly number[] {
  if (data.every((x) => typeof x === 'number')) return data as number[];
  const out: number[] = [];
  const walk = (node: unknown, depth: number, at: string) => {
    if (depth === shape.length) {
      if (typeof node !== 'number')
        invalidAt(
          at,
          `is ${Array.isArray(node) ? 'an array' : typeof node}; expected a number (shape has ${shape.length} dimensions)`,
        );
      out.push(node);
      return;
    }
    if (!Array.isArray(node))
      invalidAt(at, `is a number; expected ${shape[depth]} entries (dimension ${depth} of shape)`);
    if (node.length !== shape[depth])
      invalidAt(at, `has ${node.length} entries; expected ${shape[depth]} (dimension ${depth} of shape)`);
    node.forEach((item, i) => walk(item, depth + 1, `${at}[${i}]`));
  };
  walk(data, 0, path);
  return out;
}

/**
 * The JSON values of a tensor with a sent shape, flat, as many as the shape holds. Nested `data` (the Open
 * Inference Protocol allows it) must follow the shape.
 */
export function jsonValues(tensor: RequestTensor): readonly number[] {
  const { values } = tensor;
  if (values.kind !== 'flat' && values.kind !== 'nested') throw new Error(`tensor '${tensor.name}' is not JSON`);
  const shape = sentShape(tensor);
  const flat = values.kind === 'flat' ? values.value : flatData(values.value, shape, tensor.at.data);
  if (flat.length !== product(shape))
    invalidAt(
      tensor.at.data,
      `has ${flat.length} elements; expected ${product(shape)} (the product of shape [${shape.join(', ')}])`,
    );
  return flat;
}

/**
 * The tensors by name, each named once and known to the model. `known`: the model's inputs (the first is the one
 * it needs; the rest are optional), for the message.
 */
export function tensorsByName(
  tensors: readonly RequestTensor[],
  known: readonly string[],
  onUnknown: (tensor: RequestTensor) => never,
  onRepeated: (tensor: RequestTensor, first: RequestTensor) => never,
): Map<string, RequestTensor> {
  const byName = new Map<string, RequestTensor>();
  for (const tensor of tensors) {
    if (!known.includes(tensor.name)) onUnknown(tensor);
    const first = byName.get(tensor.name);
    if (first !== undefined) onRepeated(tensor, first);
    byName.set(tensor.name, tensor);
  }
  return byName;
}
