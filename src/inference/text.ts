/**
 * Text in: a batch of texts → one-hot sequences, as in the lecture (`hello` over the vocabulary h, e, l, o).
 * A text is a string (one token per character, by code point, so é or 😀 is one token) or an array of
 * tokens. The vocabulary is given (a string of characters or an array of tokens) or is the order of first
 * appearance across the texts.
 *
 * Two steps, so that the dense one-hot array (batch · time · vocabulary floats, which can be thousands of times
 * larger than the text) is only built once its size is known and allowed: `readTexts` measures the texts and
 * finds the vocabulary, allocating nothing per character and stopping at the first limit crossed (time steps,
 * then vocabulary size); the caller checks the cost of the shape; `oneHot` then writes the floats.
 */
import type { Limits } from '../config/config.js';
import { invalidAt, limitExceeded, quoted } from '../errors/problem-error.js';

export type Text = string | readonly string[];

export interface TextBatch {
  readonly texts: readonly Text[];
  /** Tokens per text (code points of a string). */
  readonly lengths: number[];
  readonly vocabulary: string[];
  /** Token → its one-hot position. */
  readonly index: ReadonlyMap<string, number>;
}

/** Code points of `text`, or of its first `limit + 1` if it has more (counting stops there). */
function codePoints(text: string, limit: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n <= limit; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
    n++;
  }
  return n;
}

const tokenCount = (text: Text, limit: number): number =>
  typeof text === 'string' ? codePoints(text, limit) : text.length;

/** Calls `visit` with each token of `text` and its position; stops when it returns false. */
function eachToken(text: Text, visit: (token: string, t: number) => boolean): void {
  let t = 0;
  for (const token of text) if (!visit(token, t++)) return;
}

/** The vocabulary as given: at most MAX_FEATURES tokens, none empty, none repeated. */
function givenVocabulary(vocabulary: Text, limits: Limits): string[] {
  const size = tokenCount(vocabulary, limits.maxFeatures);
  if (size === 0) invalidAt('vocabulary', 'is empty; expected at least 1 token');
  if (size > limits.maxFeatures) {
    // A string is counted only up to one token past the limit.
    const value = typeof vocabulary === 'string' ? `at least ${size}` : size;
    throw limitExceeded('vocabulary', 'the vocabulary size', value, limits.maxFeatures, 'MAX_FEATURES');
  }
  const tokens = [...vocabulary];
  const seen = new Map<string, number>();
  tokens.forEach((token, i) => {
    const path = typeof vocabulary === 'string' ? 'vocabulary' : `vocabulary[${i}]`;
    if (token === '') invalidAt(path, 'is an empty token');
    const first = seen.get(token);
    if (first !== undefined) invalidAt(path, `repeats the token ${quoted(token)} (also at position ${first})`);
    seen.set(token, i);
  });
  return tokens;
}

/**
 * Measures the texts and finds their vocabulary, within MAX_BATCH, MAX_TIME_STEPS and MAX_FEATURES (checked in
 * that order, each before any work that scales with the next). Nothing is allocated per character.
 */
export function readTexts(texts: readonly Text[], vocabulary: Text | undefined, limits: Limits): TextBatch {
  if (texts.length === 0) invalidAt('text', 'is empty; expected at least 1 sequence');
  if (texts.length > limits.maxBatch)
    throw limitExceeded('text', 'the batch size', texts.length, limits.maxBatch, 'MAX_BATCH');
  const lengths = texts.map((text) => tokenCount(text, limits.maxTimeSteps));
  const empty = lengths.indexOf(0);
  if (empty >= 0) invalidAt(`text[${empty}]`, 'has no time steps; expected at least 1');
  const longest = lengths.findIndex((n) => n > limits.maxTimeSteps);
  if (longest >= 0) {
    const steps = tokenCount(texts[longest], Number.POSITIVE_INFINITY);
    throw limitExceeded(`text[${longest}]`, 'the number of time steps', steps, limits.maxTimeSteps, 'MAX_TIME_STEPS');
  }

  if (vocabulary !== undefined) {
    const tokens = givenVocabulary(vocabulary, limits);
    const index = new Map(tokens.map((token, i) => [token, i]));
    texts.forEach((text, b) =>
      eachToken(text, (token, t) => {
        if (index.has(token)) return true;
        // Both the token and the vocabulary are the client's: quoted cut (a vocabulary can be 4096 long tokens).
        const shown = tokens.join(typeof vocabulary === 'string' ? '' : ' ');
        return invalidAt(
          `text[${b}]`,
          `has ${quoted(token)} at position ${t}, which is not in the vocabulary (${quoted(shown)})`,
        );
      }),
    );
    return { texts, lengths, vocabulary: tokens, index };
  }

  // First appearance; the set never holds more than MAX_FEATURES + 1 tokens.
  const index = new Map<string, number>();
  for (const text of texts) {
    eachToken(text, (token) => {
      if (!index.has(token)) index.set(token, index.size);
      return index.size <= limits.maxFeatures;
    });
    if (index.size > limits.maxFeatures) {
      const value = `at least ${index.size}`;
      throw limitExceeded('text', 'the vocabulary size', value, limits.maxFeatures, 'MAX_FEATURES');
    }
  }
  return { texts, lengths, vocabulary: [...index.keys()], index };
}

/** [batch, time, vocabulary] one-hot floats, zero-padded after each text's end. */
export function oneHot(batch: TextBatch, time: number, out: Float32Array): Float32Array {
  const features = batch.vocabulary.length;
  batch.texts.forEach((text, b) =>
    eachToken(text, (token, t) => {
      out[(b * time + t) * features + (batch.index.get(token) as number)] = 1;
      return true;
    }),
  );
  return out;
}
