/**
 * The protocol buffers text format (what Triton's config.pbtxt is written in), read into a tree of fields with
 * their line numbers; src/models/model-config/proto-check.ts then checks the tree against a message type. protobufjs
 * reads .proto files and the binary and JSON forms, not this one.
 *
 * What is read: `name: value` and `name { ... }` / `name: { ... }` / `name < ... >` fields, separated by
 * whitespace, `,` or `;`; scalars (identifiers such as enum names and `true`, decimal, hex and octal integers,
 * floats with exponents, `inf` and `nan`, a leading `-`); strings in single or double quotes, adjacent strings
 * joined, with the C escapes (`\n \t \r \\ \' \" \a \b \f \v \?`, octal `\123`, hex `\x41`, `\u00e9`, `\U0001F600`);
 * lists `name: [1, 2]` and `name [{ ... }, { ... }]`; `#` comments to the end of the line. Extension and Any fields
 * (`[type.googleapis.com/...]`) are refused: ModelConfig has none.
 */

/** A scalar as written: an identifier (`TYPE_FP32`, `true`, `inf`), a number (its text, sign included) or a string. */
export type ScalarToken =
  | { readonly type: 'identifier'; readonly text: string }
  | { readonly type: 'number'; readonly text: string }
  | { readonly type: 'string'; readonly bytes: Uint8Array };

export type TextValue =
  | { readonly kind: 'scalar'; readonly token: ScalarToken; readonly line: number }
  | { readonly kind: 'message'; readonly fields: readonly TextField[]; readonly line: number }
  | { readonly kind: 'list'; readonly items: readonly TextValue[]; readonly line: number };

export interface TextField {
  readonly name: string;
  /** The line the field's name is on (1-based; 0 for a field that did not come from text). */
  readonly line: number;
  readonly value: TextValue;
}

/** A syntax error, at a line (1-based). */
export class TextFormatError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'TextFormatError';
  }
}

type Token =
  | { readonly kind: 'punct'; readonly text: string; readonly line: number }
  | { readonly kind: 'identifier'; readonly text: string; readonly line: number }
  | { readonly kind: 'number'; readonly text: string; readonly line: number }
  | { readonly kind: 'string'; readonly bytes: Uint8Array; readonly line: number }
  | { readonly kind: 'end'; readonly line: number };

const PUNCTUATION = new Set(['{', '}', '[', ']', '<', '>', ':', ',', ';', '-', '.', '/']);
const IDENTIFIER_START = /[A-Za-z_]/;
const IDENTIFIER_PART = /[A-Za-z0-9_]/;
/** A number as the text format writes it: hex, octal or decimal integers, floats with an exponent and an f suffix. */
const NUMBER = /^(0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?)/;
const SIMPLE_ESCAPES: Record<string, number> = {
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  '?': 0x3f,
};

const encoder = new TextEncoder();

/** Describes a token for a message: `'{'`, `identifier foo`, `end of file`. */
function describe(token: Token): string {
  switch (token.kind) {
    case 'punct':
      return `'${token.text}'`;
    case 'identifier':
      return `'${token.text}'`;
    case 'number':
      return `the number ${token.text}`;
    case 'string':
      return 'a string';
    case 'end':
      return 'the end of the file';
  }
}

/** The string literal starting at `text[start]` (a quote): its bytes and the index after it. */
function readString(text: string, start: number, line: number): { bytes: Uint8Array; end: number } {
  const quote = text[start];
  const bytes: number[] = [];
  let i = start + 1;
  for (;;) {
    if (i >= text.length || text[i] === '\n') throw new TextFormatError(line, 'a string is not closed on its line');
    const c = text[i];
    if (c === quote) return { bytes: Uint8Array.from(bytes), end: i + 1 };
    if (c !== '\\') {
      const code = text.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(code);
      bytes.push(...encoder.encode(char));
      i += char.length;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) throw new TextFormatError(line, 'a string ends in a lone backslash');
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]);
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
      const value = Number.parseInt(digits, 8);
      if (value > 0xff) throw new TextFormatError(line, `the octal escape \\${digits} is above \\377`);
      bytes.push(value);
      i += 1 + digits.length;
    } else if (e === 'x' || e === 'X') {
      const digits = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2, i + 4))?.[0];
      if (digits === undefined) throw new TextFormatError(line, 'the escape \\x needs one or two hex digits');
      bytes.push(Number.parseInt(digits, 16));
      i += 2 + digits.length;
    } else if (e === 'u' || e === 'U') {
      const width = e === 'u' ? 4 : 8;
      const digits = text.slice(i + 2, i + 2 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(digits))
        throw new TextFormatError(line, `the escape \\${e} needs ${width} hex digits`);
      const code = Number.parseInt(digits, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        throw new TextFormatError(line, `the escape \\${e}${digits} is not a Unicode scalar value`);
      bytes.push(...encoder.encode(String.fromCodePoint(code)));
      i += 2 + width;
    } else throw new TextFormatError(line, `unknown escape \\${e} in a string`);
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line += 1;
      i += 1;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') i += 1;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === '"' || c === "'") {
      const { bytes, end } = readString(text, i, line);
      tokens.push({ kind: 'string', bytes, line });
      i = end;
    } else if (IDENTIFIER_START.test(c)) {
      let end = i + 1;
      while (end < text.length && IDENTIFIER_PART.test(text[end])) end += 1;
      tokens.push({ kind: 'identifier', text: text.slice(i, end), line });
      i = end;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const match = NUMBER.exec(text.slice(i));
      if (match === null) throw new TextFormatError(line, `'${c}' does not start a number`);
      const end = i + match[0].length;
      if (end < text.length && IDENTIFIER_PART.test(text[end]))
        throw new TextFormatError(line, `'${text.slice(i, end + 1)}' is not a number`);
      tokens.push({ kind: 'number', text: match[0], line });
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      throw new TextFormatError(line, "'//' does not start a comment in the text format; use '#'");
    } else if (PUNCTUATION.has(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i += 1;
    } else {
      throw new TextFormatError(line, `unexpected character '${String.fromCodePoint(text.codePointAt(i) ?? 0)}'`);
    }
  }
  tokens.push({ kind: 'end', line });
  return tokens;
}

class Parser {
  #at = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  get peek(): Token {
    return this.tokens[this.#at];
  }

  next(): Token {
    const token = this.tokens[this.#at];
    if (token.kind !== 'end') this.#at += 1;
    return token;
  }

  isPunct(text: string): boolean {
    const token = this.peek;
    return token.kind === 'punct' && token.text === text;
  }

  expectPunct(text: string, what: string): void {
    const token = this.next();
    if (token.kind !== 'punct' || token.text !== text)
      throw new TextFormatError(token.line, `expected '${text}' ${what}; found ${describe(token)}`);
  }

  /** Fields until `close` (a closing bracket), or the end of the file when `close` is null. */
  fields(close: string | null, opened: number): TextField[] {
    const fields: TextField[] = [];
    for (;;) {
      const token = this.peek;
      if (close === null && token.kind === 'end') return fields;
      if (close !== null && token.kind === 'punct' && token.text === close) {
        this.next();
        return fields;
      }
      if (token.kind === 'end')
        throw new TextFormatError(token.line, `the message opened on line ${opened} is not closed ('${close}')`);
      fields.push(this.field());
      if (this.isPunct(',') || this.isPunct(';')) this.next();
    }
  }

  field(): TextField {
    const token = this.next();
    if (token.kind === 'punct' && token.text === '[')
      throw new TextFormatError(token.line, 'extension and Any fields ([...]) are not supported');
    if (token.kind !== 'identifier')
      throw new TextFormatError(token.line, `expected a field name; found ${describe(token)}`);
    const name = token.text;
    const colon = this.isPunct(':');
    if (colon) this.next();
    const start = this.peek;
    if (start.kind === 'punct' && (start.text === '{' || start.text === '<'))
      return { name, line: token.line, value: this.message() };
    if (start.kind === 'punct' && start.text === '[') return { name, line: token.line, value: this.list(name) };
    if (!colon)
      throw new TextFormatError(
        start.line,
        `expected ':' or '{' after the field name '${name}'; found ${describe(start)}`,
      );
    return { name, line: token.line, value: this.scalar(name) };
  }

  message(): TextValue {
    const open = this.next() as Extract<Token, { kind: 'punct' }>;
    const close = open.text === '{' ? '}' : '>';
    return { kind: 'message', fields: this.fields(close, open.line), line: open.line };
  }

  list(name: string): TextValue {
    const open = this.next();
    const items: TextValue[] = [];
    if (this.isPunct(']')) {
      this.next();
      return { kind: 'list', items, line: open.line };
    }
    for (;;) {
      items.push(this.isPunct('{') || this.isPunct('<') ? this.message() : this.scalar(name));
      const token = this.next();
      if (token.kind === 'punct' && token.text === ']') return { kind: 'list', items, line: open.line };
      if (token.kind !== 'punct' || token.text !== ',')
        throw new TextFormatError(
          token.line,
          `expected ',' or ']' in the list of '${name}' opened on line ${open.line}; found ${describe(token)}`,
        );
    }
  }

  scalar(name: string): TextValue {
    const token = this.next();
    if (token.kind === 'punct' && token.text === '-') {
      const value = this.next();
      if (value.kind === 'number')
        return { kind: 'scalar', token: { type: 'number', text: `-${value.text}` }, line: token.line };
      if (value.kind === 'identifier' && /^(inf|infinity|nan)$/i.test(value.text))
        return { kind: 'scalar', token: { type: 'identifier', text: `-${value.text}` }, line: token.line };
      throw new TextFormatError(value.line, `expected a number after '-'; found ${describe(value)}`);
    }
    if (token.kind === 'number')
      return { kind: 'scalar', token: { type: 'number', text: token.text }, line: token.line };
    if (token.kind === 'identifier')
      return { kind: 'scalar', token: { type: 'identifier', text: token.text }, line: token.line };
    if (token.kind === 'string') {
      // Adjacent strings are one: "ab" 'cd' is "abcd".
      const parts = [token.bytes];
      while (this.peek.kind === 'string') parts.push((this.next() as Extract<Token, { kind: 'string' }>).bytes);
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        bytes.set(part, at);
        at += part.length;
      }
      return { kind: 'scalar', token: { type: 'string', bytes }, line: token.line };
    }
    throw new TextFormatError(token.line, `expected a value for '${name}'; found ${describe(token)}`);
  }
}

/** The fields of a text-format message (a whole config.pbtxt); a TextFormatError names the line of a syntax error. */
export function parseTextFormat(text: string): TextField[] {
  return new Parser(tokenize(text)).fields(null, 1);
}
