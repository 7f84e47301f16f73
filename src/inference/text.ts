/**
 * Text in: a batch of texts → one-hot sequences, as in the lecture (`hello` over the vocabulary h, e, l, o).
 * A text is a string (one token per character, by code point, so é or 😀 is one token) or an array of
 * tokens. The vocabulary is given (a string of characters or an array of tokens) or is the order of first
 * appearance across the texts.
 */
import type { Limits } from '../config/config.js';
import { invalidAt, limitExceeded, quoted } from '../errors/problem-error.js';

export interface OneHotBatch {
  /** [batch][time][vocabulary.length], ragged when the texts differ in length. */
  readonly inputs: number[][][];
  readonly vocabulary: string[];
}

const tokensOf = (text: string | readonly string[]): string[] => (typeof text === 'string' ? [...text] : [...text]);

export function oneHotTexts(
  texts: readonly (string | readonly string[])[],
  vocabulary: string | readonly string[] | undefined,
  limits: Limits,
): OneHotBatch {
  const sequences = texts.map(tokensOf);
  let tokens: string[];
  if (vocabulary === undefined) {
    tokens = [...new Set(sequences.flat())];
  } else {
    tokens = tokensOf(vocabulary);
    if (tokens.length === 0) invalidAt('vocabulary', 'is empty; expected at least 1 token');
    const seen = new Map<string, number>();
    tokens.forEach((token, i) => {
      const path = typeof vocabulary === 'string' ? 'vocabulary' : `vocabulary[${i}]`;
      if (token === '') invalidAt(path, 'is an empty token');
      const first = seen.get(token);
      if (first !== undefined) invalidAt(path, `repeats the token ${quoted(token)} (also at position ${first})`);
      seen.set(token, i);
    });
  }
  if (tokens.length > limits.maxFeatures) {
    throw limitExceeded(
      vocabulary === undefined ? 'text' : 'vocabulary',
      'the vocabulary size',
      tokens.length,
      limits.maxFeatures,
      'MAX_FEATURES',
    );
  }
  const index = new Map(tokens.map((token, i) => [token, i]));
  const inputs = sequences.map((sequence, b) =>
    sequence.map((token, t) => {
      const at = index.get(token);
      if (at === undefined) {
        // Both the token and the vocabulary are the client's: quoted cut (a vocabulary can be 4096 long tokens).
        invalidAt(
          `text[${b}]`,
          `has ${quoted(token)} at position ${t}, which is not in the vocabulary (${quoted(tokens.join(typeof vocabulary === 'string' ? '' : ' '))})`,
        );
      }
      const oneHot = new Array<number>(tokens.length).fill(0);
      oneHot[at] = 1;
      return oneHot;
    }),
  );
  return { inputs, vocabulary: tokens };
}
