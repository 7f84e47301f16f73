/**
 * The layers of a TF.js Layers `modelTopology`, in the order they run: a Sequential model's list, or a
 * functional model (`Model` as tfjs saves it, `Functional` as Keras does) whose layers form one chain: an
 * InputLayer, then each layer taking the first output of the layer before, the model's outputs all coming
 * from the last layer (its output, and with `return_state` its states). A graph that branches or merges is
 * refused naming the layer; what each layer may be is tfjs-import.ts's business.
 */

/** A problem with the file; the loader prefixes the file name. */
export class TfjsModelError extends Error {}

export interface LayerJson {
  class_name: string;
  config: Record<string, unknown> & { name?: string; layer?: LayerJson };
}

export interface Topology {
  readonly layers: LayerJson[];
  /**
   * Which outputs of the last layer the model returns, in order: [0] for a Sequential model; a functional one
   * may add a recurrent layer's states (1, 2, ...: Keras `return_state`).
   */
  readonly outputs: number[];
}

export function fail(message: string): never {
  throw new TfjsModelError(message);
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const named = (layer: LayerJson, k: number) =>
  `layer ${k} (${layer.class_name}${layer.config.name ? ` '${layer.config.name}'` : ''})`;

/** A layer as the topology gives it: `class_name` and `config` (with `layer` for a wrapper), checked. */
export function layerAt(value: unknown, where: string): LayerJson {
  if (!isObject(value) || typeof value.class_name !== 'string' || !isObject(value.config))
    fail(`${where}: expected {class_name, config}`);
  const layer = value as unknown as LayerJson;
  if (layer.config.layer !== undefined) layerAt(layer.config.layer, `${where}: its wrapped layer`);
  return layer;
}

const FUNCTIONAL = ['Model', 'Functional'];

export function topologyOf(modelTopology: unknown): Topology {
  if (!isObject(modelTopology)) fail('modelTopology: expected an object');
  const topology = (modelTopology.model_config ?? modelTopology) as { class_name?: string; config?: unknown };
  if (!isObject(topology)) fail('modelTopology.model_config: expected an object');
  if (topology.class_name === 'Sequential') {
    const given = Array.isArray(topology.config) ? topology.config : (topology.config as { layers?: unknown })?.layers;
    if (!Array.isArray(given) || given.length === 0) fail('modelTopology.config.layers: is missing or empty');
    return {
      layers: given.map((layer: unknown, k) => layerAt(layer, `modelTopology.config.layers[${k}]`)),
      outputs: [0],
    };
  }
  if (FUNCTIONAL.includes(topology.class_name as string)) return functionalChain(topology.config);
  return fail(
    `modelTopology: is a ${topology.class_name ?? 'model without class_name'}; supported: Sequential, and functional models (Model, Functional) whose layers form one chain`,
  );
}

/** [layer name, node index, tensor index] of a reference to a layer's output. */
type TensorRef = [string, number, number];

const isRef = (value: unknown): value is TensorRef =>
  Array.isArray(value) && typeof value[0] === 'string' && Number.isInteger(value[1]) && Number.isInteger(value[2]);

/**
 * The one input of a layer's one call: tfjs and Keras 2 write `inbound_nodes: [[[name, node, tensor, kwargs]]]`,
 * Keras 3 `[{args: [{config: {keras_history: [name, node, tensor]}}], kwargs}]`; null when it has no inputs.
 */
function inputOf(nodes: unknown, where: string): TensorRef | null {
  if (nodes === undefined || (Array.isArray(nodes) && nodes.length === 0)) return null;
  const chained = `${where}: inbound_nodes is ${JSON.stringify(nodes).slice(0, 120)}; expected one call on one tensor (a chain of layers)`;
  if (!Array.isArray(nodes) || nodes.length !== 1) fail(chained);
  const node = nodes[0] as unknown;
  if (Array.isArray(node) && node.length === 1 && isRef(node[0])) return node[0];
  if (isObject(node) && Array.isArray(node.args) && node.args.length === 1) {
    const tensor = node.args[0] as { config?: { keras_history?: unknown } } | undefined;
    const history = tensor?.config?.keras_history;
    if (isRef(history)) return history;
  }
  return fail(chained);
}

function functionalChain(config: unknown): Topology {
  if (!isObject(config) || !Array.isArray(config.layers) || config.layers.length === 0)
    fail('modelTopology.config.layers: is missing or empty');
  const entries = config.layers as unknown[];
  const layers = entries.map((entry, k) => layerAt(entry, `modelTopology.config.layers[${k}]`));
  const nameOf = (k: number) => {
    const name = (entries[k] as { name?: unknown }).name ?? layers[k].config.name;
    if (typeof name !== 'string') fail(`${named(layers[k], k)}: has no name (a functional model's layers are named)`);
    return name;
  };
  if (
    layers[0].class_name !== 'InputLayer' ||
    inputOf((entries[0] as Record<string, unknown>).inbound_nodes, '') !== null
  )
    fail(`${named(layers[0], 0)}: a functional model's first layer must be its InputLayer`);
  for (let k = 1; k < layers.length; k++) {
    const where = named(layers[k], k);
    const input = inputOf((entries[k] as Record<string, unknown>).inbound_nodes, where);
    if (input === null || input[0] !== nameOf(k - 1) || input[2] !== 0)
      fail(
        `${where}: takes ${input === null ? 'no input' : `output ${input[2]} of '${input[0]}'`}; supported: a chain, each layer taking output 0 of the layer before ('${nameOf(k - 1)}')`,
      );
  }
  // tfjs and Keras 2 list inputs and outputs as [[name, node, tensor], ...]; Keras 3 writes a single one bare.
  const listed = (refs: unknown) => (isRef(refs) ? [refs] : refs);
  const inputs = listed(config.input_layers);
  if (!Array.isArray(inputs) || inputs.length !== 1 || !isRef(inputs[0]) || inputs[0][0] !== nameOf(0))
    fail(
      `modelTopology.config.input_layers: is ${JSON.stringify(config.input_layers)}; expected [['${nameOf(0)}', 0, 0]]`,
    );
  const last = layers.length - 1;
  const given = listed(config.output_layers);
  if (!Array.isArray(given) || given.length === 0 || !given.every(isRef))
    fail(`modelTopology.config.output_layers: is ${JSON.stringify(given)}; expected [[name, node, tensor], ...]`);
  const outputs = given.map((ref, i) => {
    if (ref[0] !== nameOf(last) || ref[2] !== i)
      fail(
        `modelTopology.config.output_layers[${i}]: is output ${ref[2]} of '${ref[0]}'; supported: the outputs of the last layer ('${nameOf(last)}') in order`,
      );
    return ref[2];
  });
  return { layers, outputs };
}
