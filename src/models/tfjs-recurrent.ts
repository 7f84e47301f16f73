/**
 * What a TF.js Layers model.json says about its recurrent layers (SimpleRNN, LSTM, GRU), read into a layer spec
 * as a request would give it, and the activations of every layer. tfjs-import.ts takes the weights.
 *
 * Defaults depend on who wrote the file. Both TF.js `model.save` and tensorflowjs_converter write every field
 * of a recurrent layer's config, so a default applies only to a hand-made or trimmed file; it is then the
 * writer's, known from `modelTopology.keras_version` ("tfjs-layers 4.22.0" from TF.js, "2.15.0" from Keras)
 * or else the file's `generatedBy` ("TensorFlow.js tfjs-layers v4.22.0", "keras v2.15.0"):
 *
 *   writer          recurrent_activation           GRU reset_after
 *   TF.js           hardSigmoid                    false (the only formulation TF.js 4.22 builds)
 *   Keras 3         sigmoid                        true
 *   Keras 2.3-2.x   sigmoid                        none: it changed within Keras 2; the field is required
 *   other, unknown  none: the field is required    none: the field is required
 *
 * Porting note: Keras 3 redefined `hard_sigmoid` as relu6(x + 3) / 6; TF.js and Keras 2 use 0.2·x + 0.5
 * clipped, which is the one we run. A Keras 3 file naming hard_sigmoid is refused rather than run another
 * function.
 */
import type { ModelDescription } from '../inference/model.js';
import { ACTIVATION_NAMES, type ActivationName, type CellName, type DenseActivation } from '../engine/index.js';
import { type LayerJson, fail, isObject } from './tfjs-topology.js';

/** Keras class names of the recurrent layers we run, and the engine's cell for each. */
const RECURRENT_CLASSES: ReadonlyMap<string, CellName> = new Map([
  ['SimpleRNN', 'simpleRNN'],
  ['LSTM', 'lstm'],
  ['GRU', 'gru'],
]);

export const isRecurrent = (className: string): boolean => RECURRENT_CLASSES.has(className);

/** Who wrote a model.json, and the defaults of the fields a recurrent layer's config may leave out. */
export interface Writer {
  /** For messages: "TF.js (tfjs-layers 4.22.0)", "Keras 2.15.0", "an unknown writer". */
  readonly name: string;
  readonly recurrentActivation: ActivationName | null;
  readonly resetAfter: boolean | null;
  /** Keras 3: its hard_sigmoid is not TF.js's. */
  readonly keras3: boolean;
}

/** The writer of a model.json, from `modelTopology.keras_version`, else `generatedBy`. */
export function writerOf(json: { modelTopology: unknown; generatedBy?: unknown }): Writer {
  const topology = isObject(json.modelTopology) ? json.modelTopology : {};
  const version = typeof topology.keras_version === 'string' ? topology.keras_version : null;
  const generatedBy = typeof json.generatedBy === 'string' ? json.generatedBy : null;
  const tfjs =
    /^tfjs-layers\s+(\S+)/.exec(version ?? '') ?? /^TensorFlow\.js tfjs-layers v(\S+)/.exec(generatedBy ?? '');
  if (tfjs !== null)
    return {
      name: `TF.js (tfjs-layers ${tfjs[1]})`,
      recurrentActivation: 'hardSigmoid',
      resetAfter: false,
      keras3: false,
    };
  const keras = /^(\d+)\.(\d+)/.exec(version ?? '') ?? /^keras v(\d+)\.(\d+)/.exec(generatedBy ?? '');
  if (keras !== null) {
    const [major, minor] = [Number(keras[1]), Number(keras[2])];
    const name = `Keras ${version ?? generatedBy?.slice('keras v'.length)}`;
    if (major >= 3) return { name, recurrentActivation: 'sigmoid', resetAfter: true, keras3: true };
    if (major === 2 && minor >= 3) return { name, recurrentActivation: 'sigmoid', resetAfter: null, keras3: false };
    return { name, recurrentActivation: null, resetAfter: null, keras3: false };
  }
  return { name: 'an unknown writer', recurrentActivation: null, resetAfter: null, keras3: false };
}

/** A layer's activation by its Keras or TF.js name (`hard_sigmoid` is TF.js's `hardSigmoid`). */
export function activationOf(value: unknown, where: string, softmax: boolean, writer: Writer, field = 'activation') {
  // A custom activation is an object in Keras 3 files: named whole in the message.
  const name = value === undefined ? 'linear' : typeof value === 'string' ? value : JSON.stringify(value);
  if (name === 'hard_sigmoid' && writer.keras3)
    fail(
      `${where}: ${field} 'hard_sigmoid' of ${writer.name} is relu6(x + 3) / 6, not supported (hardSigmoid here is TF.js's and Keras 2's 0.2·x + 0.5, clipped)`,
    );
  const camel = name === 'hard_sigmoid' ? 'hardSigmoid' : name;
  if ((ACTIVATION_NAMES as readonly string[]).includes(camel) || (softmax && camel === 'softmax'))
    return camel as DenseActivation;
  return fail(
    `${where}: ${field} '${name}' is not supported (${[...ACTIVATION_NAMES, ...(softmax ? ['softmax'] : [])].join(', ')})`,
  );
}

/** A config field by its Keras name, or by TF.js's camelCase one (a hand-written file). */
const field = (config: Record<string, unknown>, snake: string, camel: string): unknown =>
  config[snake] ?? config[camel];

/** A boolean field of a layer's config: absent is `absent`; anything but a boolean is refused. */
function flag(config: Record<string, unknown>, snake: string, camel: string, where: string, absent: boolean): boolean {
  const value = field(config, snake, camel);
  if (value === undefined || value === null) return absent;
  if (typeof value !== 'boolean') fail(`${where}: ${snake} is ${JSON.stringify(value)}; expected true or false`);
  return value;
}

/** A recurrent layer's config as read: its spec (what a request would describe) and what the importer needs. */
export interface RecurrentConfig {
  readonly cell: CellName;
  readonly spec: NonNullable<ModelDescription['layers']>[number];
  readonly units: number;
  readonly useBias: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
}

/**
 * The config of a SimpleRNN, LSTM or GRU layer (`layer`, plain or wrapped; `where` names the layer). What we
 * cannot honour is refused; `dropout`, `recurrent_dropout` (identity at inference), `implementation`,
 * `unroll` and the initializers, regularizers and constraints change nothing in a trained model's answers.
 * `unit_forget_bias` only initialises a new LSTM's bias: it is kept in the spec for the record. `units` reads
 * and bounds the units.
 */
export function recurrentConfig(
  layer: LayerJson,
  where: string,
  writer: Writer,
  units: (value: unknown) => number,
): RecurrentConfig {
  const cell = RECURRENT_CLASSES.get(layer.class_name);
  if (cell === undefined) fail(`${where}: ${layer.class_name} is not a recurrent layer`);
  const c = layer.config;
  if (flag(c, 'stateful', 'stateful', where, false)) fail(`${where}: stateful is not supported`);
  if (flag(c, 'time_major', 'timeMajor', where, false))
    fail(`${where}: time_major is not supported (inputs are [batch, time, features])`);
  const hiddenSize = units(c.units);
  const useBias = flag(c, 'use_bias', 'useBias', where, true);
  const spec: RecurrentConfig['spec'] = {
    hiddenSize,
    activation: activationOf(c.activation ?? 'tanh', where, false, writer) as ActivationName,
    useBias,
    goBackwards: flag(c, 'go_backwards', 'goBackwards', where, false),
    ...(cell === 'simpleRNN' ? {} : gatedOptions(cell, c, where, writer)),
  };
  return {
    cell,
    spec,
    units: hiddenSize,
    useBias,
    returnSequences: flag(c, 'return_sequences', 'returnSequences', where, false),
    returnState: flag(c, 'return_state', 'returnState', where, false),
  };
}

/** An LSTM's or GRU's own fields: recurrent_activation, and unit_forget_bias or reset_after. */
function gatedOptions(
  cell: 'lstm' | 'gru',
  c: Record<string, unknown>,
  where: string,
  writer: Writer,
): Pick<RecurrentConfig['spec'], 'cell' | 'recurrentActivation' | 'unitForgetBias' | 'resetAfter'> {
  const missing = (name: string) =>
    fail(`${where}: ${name} is missing, and ${writer.name} wrote the file, whose default we do not know; add ${name}`);
  const given = field(c, 'recurrent_activation', 'recurrentActivation');
  const recurrentActivation =
    given === undefined
      ? (writer.recurrentActivation ?? missing('recurrent_activation'))
      : (activationOf(given, where, false, writer, 'recurrent_activation') as ActivationName);
  if (cell === 'lstm')
    return { cell, recurrentActivation, unitForgetBias: flag(c, 'unit_forget_bias', 'unitForgetBias', where, true) };
  const reset = field(c, 'reset_after', 'resetAfter');
  const resetAfter =
    reset === undefined
      ? (writer.resetAfter ?? missing('reset_after'))
      : flag(c, 'reset_after', 'resetAfter', where, false);
  return { cell, recurrentActivation, resetAfter };
}
