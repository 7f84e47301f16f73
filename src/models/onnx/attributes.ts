/**
 * A node's attributes, read by name and kind at load time: an attribute the operator does not define (or that
 * this server does not implement) is refused, as is one of the wrong kind, so nothing in a file is silently
 * ignored.
 */
import { type Attribute, type OnnxNode, fail } from './decode.js';
import type { Tensor } from './tensor.js';

export const nodeLabel = (node: OnnxNode): string => `node '${node.name}' (${node.opType})`;

export class Attributes {
  constructor(
    readonly node: OnnxNode,
    allowed: readonly string[],
  ) {
    for (const name of node.attributes.keys())
      if (!allowed.includes(name))
        fail(
          `${nodeLabel(node)}: attribute '${name}' is not supported (${allowed.length === 0 ? 'it takes none' : `supported: ${allowed.join(', ')}`})`,
        );
  }

  has(name: string): boolean {
    return this.node.attributes.has(name);
  }

  #get<K extends Attribute['kind']>(name: string, kind: K): Extract<Attribute, { kind: K }> | undefined {
    const attribute = this.node.attributes.get(name);
    if (attribute === undefined) return undefined;
    if (attribute.kind !== kind)
      fail(`${nodeLabel(this.node)}: attribute '${name}' is ${attribute.kind}; expected ${kind}`);
    return attribute as Extract<Attribute, { kind: K }>;
  }

  int(name: string, fallback: number): number {
    return this.#get(name, 'int')?.value ?? fallback;
  }

  requiredInt(name: string): number {
    const value = this.#get(name, 'int')?.value;
    if (value === undefined) return fail(`${nodeLabel(this.node)}: attribute '${name}' is required`);
    return value;
  }

  float(name: string, fallback: number): number {
    return this.#get(name, 'float')?.value ?? fallback;
  }

  optionalFloat(name: string): number | undefined {
    return this.#get(name, 'float')?.value;
  }

  string(name: string, fallback: string): string {
    return this.#get(name, 'string')?.value ?? fallback;
  }

  ints(name: string): number[] | undefined {
    return this.#get(name, 'ints')?.value;
  }

  floats(name: string): number[] | undefined {
    return this.#get(name, 'floats')?.value;
  }

  strings(name: string): string[] | undefined {
    return this.#get(name, 'strings')?.value;
  }

  tensor(name: string): Tensor | undefined {
    return this.#get(name, 'tensor')?.value;
  }
}

/** `prepare` for an operator that takes no attributes: any attribute is refused. */
export function noAttributes(node: OnnxNode): null {
  new Attributes(node, []);
  return null;
}
