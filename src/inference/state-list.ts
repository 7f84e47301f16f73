/**
 * How an answer lists its final states (`states`, `cellStates`, and their `shapes`): one entry is written bare, any
 * other number as a JSON array, in state order (layer by layer, forward before backward). Keras returns one state
 * alone and a list for more; PyTorch's h_n is a single tensor. The one writer of that rule for the /forward answers,
 * whole or streamed (protocols/forward-answer.ts), an ONNX graph's h_n among them.
 *
 * `raw` takes JSON text and `entry` writes one entry, so that the same rule serves the JsonWriter and the parts
 * of a streamed answer.
 */
export function writeStateList<T>(
  name: string,
  entries: readonly T[],
  raw: (text: string) => void,
  entry: (value: T) => void,
): void {
  raw(`,"${name}":`);
  if (entries.length === 1) {
    entry(entries[0]);
    return;
  }
  raw('[');
  entries.forEach((value, i) => {
    if (i > 0) raw(',');
    entry(value);
  });
  raw(']');
}
