/**
 * A served classifier's class labels: `labels.txt` beside its model.json or model.onnx, one label per line in
 * output-feature order (as Triton's label files), read at start-up. Only a classifier may have them (a layer model
 * whose last layer is softmax; an ONNX graph with a softmax output, src/models/onnx/classifier.ts), and exactly
 * one per class: anything else is a one-line start-up error naming labels.txt.
 */
import { lstat } from 'node:fs/promises';
import { count } from '../codec/tensors.js';
import { endsInSoftmax, type ResolvedModel, modelOutputFeatures } from '../inference/model.js';
import { RepositoryFileError, RepositoryFiles } from './repository-files.js';

export const LABELS_FILE = 'labels.txt';

/** The largest labels.txt read: 1 MiB, some 10,000 labels of 100 bytes; more is a file put there by mistake. */
export const MAX_LABELS_FILE_BYTES = 1024 * 1024;

/** A problem with labels.txt; `file` is its repository-relative path. */
export class LabelsError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'LabelsError';
  }
}

/** The lines of a labels file: UTF-8 (a BOM is dropped), `\n` or `\r\n`, the last line's newline optional. */
export function parseLabels(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * What labels.txt must match: the class count and what has the classes (`one label per ${per}`), or why the model
 * cannot have labels (`gives class labels, but ${notClassifier}`).
 */
export type LabelsTarget = { readonly classes: number; readonly per: string } | { readonly notClassifier: string };

/** A layer model's target: the output features of its last layer, when that is softmax. */
export function layerLabelsTarget(model: ResolvedModel): LabelsTarget {
  if (!endsInSoftmax(model))
    return {
      notClassifier: "the model's last layer is not softmax (labels name the classes of a classifier's outputs)",
    };
  return { classes: modelOutputFeatures(model), per: "output feature of the model's last layer" };
}

/**
 * The labels of the model in `directory` (repository-relative NAME/VERSION), or null when it has no labels.txt.
 * Read through RepositoryFiles (inside MODELS_DIR, a regular file, at most MAX_LABELS_FILE_BYTES).
 */
export async function readLabels(
  files: RepositoryFiles,
  directory: string,
  target: LabelsTarget,
): Promise<string[] | null> {
  const file = RepositoryFiles.path(directory, LABELS_FILE);
  // lstat: a dangling symlink is there (and refused by read), not absent.
  if ((await lstat(files.shown(file)).catch(() => null)) === null) return null;
  const refuse = (problem: string) => new LabelsError(file, problem);
  if ('notClassifier' in target) throw refuse(`gives class labels, but ${target.notClassifier}`);
  let bytes: Buffer;
  try {
    bytes = await files.read(file, { max: MAX_LABELS_FILE_BYTES, limit: 'MAX_LABELS_FILE_BYTES' });
  } catch (error) {
    if (error instanceof RepositoryFileError) throw refuse(error.message);
    throw error;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refuse('is not UTF-8 text');
  }
  const labels = parseLabels(text);
  if (labels.length !== target.classes)
    throw refuse(`has ${count(labels.length, 'line')}; expected ${target.classes}, one label per ${target.per}`);
  const empty = labels.indexOf('');
  if (empty >= 0) throw refuse(`line ${empty + 1} is empty; every class needs a label`);
  return labels;
}
