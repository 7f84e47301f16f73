/**
 * The curl examples of the docs and the answers the pages show for them (docs/testing.md, "Examples in the
 * docs", states the convention this reads):
 *
 *   <!-- example-server: API_KEYS=0123456789abcdef -->     optional: the server's environment for this block
 *   <!-- example-model: lstm-state test/fixtures/... -->    optional: one more model its repository serves
 *   ```sh
 *   curl -s localhost:8080/rnn/forward -H 'content-type: application/json' \
 *     -d '{"text": ["hello"], "hiddenSize": 2, "seed": 42}'
 *   # {"outputs": [...], "states": [[-0.8389222, 0.8316943]], ...}
 *   ```
 *
 *   <!-- example-file: models/hello/1/model.json -->      above a block that shows a file as it is
 *
 * A block is a list of steps: shell lines, then the `#` lines right below them, which are what the step prints.
 * A blank line ends a step; `#` lines that open a step are comments about it. The last step's answer may instead
 * be a ```json block right after the ```sh block. A shown answer is a JSON pattern (`...` stands for any value,
 * any further members of an object, or any run of array elements), a `-i` answer (status line, the headers shown,
 * then the body), or plain text (a line `...` stands for any lines).
 */
import { fencesOf } from './markdown.js';

export interface Step {
  /** The shell lines, comments above them included. */
  script: string[];
  /** What the page shows the step prints; null: nothing. */
  shown: string | null;
  /** 1-based line of the step's first shell line. */
  line: number;
}

export interface Example {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  steps: Step[];
  /** Environment variables of the server this example needs, beside the defaults. */
  server: Record<string, string>;
  /** Models added to the repository for this example: name → directory of version 1, repo-relative. */
  models: Record<string, string>;
  /** Why this example is not run (`<!-- example-untested: ... -->`); null when it is. */
  untested: string | null;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console']);

/** Whether a code block's lines run curl. */
const runsCurl = (lines: readonly string[]) => lines.some((line) => /(^|[|;&({]\s*)curl\s/.test(line.trim()));

/** The HTML comments right above a line (no blank line between), innermost last. */
function directivesAbove(lines: readonly string[], fenceLine: number): string[] {
  const found: string[] = [];
  for (let i = fenceLine - 1; i >= 0; i--) {
    const m = /^<!--\s*(example-[a-z]+):\s*(.*?)\s*-->$/.exec(lines[i].trim());
    if (m === null) break;
    found.unshift(`${m[1]}\u0000${m[2]}`);
  }
  return found;
}

/** The `#` lines of a shown answer as text: `# ` or `#` taken off each. */
const uncomment = (lines: readonly string[]) => lines.map((line) => line.replace(/^# ?/, '')).join('\n');

/** Splits a ```sh block into steps (see the header). A heredoc's lines belong to its command, whatever they hold. */
export function stepsOf(lines: readonly string[], firstLine: number): Step[] {
  const steps: Step[] = [];
  let script: string[] = [];
  let answer: string[] = [];
  let hasCommand = false;
  let line = firstLine;
  const finish = () => {
    if (hasCommand) steps.push({ script, shown: answer.length > 0 ? uncomment(answer) : null, line });
    else if (script.length > 0) throw new Error(`line ${line}: comments with no command below them`);
    script = [];
    answer = [];
    hasCommand = false;
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (text.trim() === '') {
      finish();
      continue;
    }
    if (text.startsWith('#')) {
      if (hasCommand) answer.push(text);
      else {
        if (script.length === 0) line = firstLine + i;
        script.push(text);
      }
      continue;
    }
    if (answer.length > 0) finish();
    if (script.length === 0) line = firstLine + i;
    script.push(text);
    hasCommand = true;
    const heredoc = /<<-?\s*(['"]?)(\w+)\1/.exec(text);
    if (heredoc !== null) {
      while (i + 1 < lines.length && lines[i + 1].trim() !== heredoc[2]) script.push(lines[++i]);
      if (i + 1 < lines.length) script.push(lines[++i]);
    }
  }
  finish();
  return steps;
}

/**
 * Every curl example of a markdown file. Throws for what the convention does not allow: curl in a block that is
 * not a shell block, an unknown directive, a directive's malformed value.
 */
export function examplesOf(file: string, text: string): Example[] {
  const lines = text.split('\n');
  const fences = fencesOf(lines);
  const examples: Example[] = [];
  fences.forEach((fence, index) => {
    if (!runsCurl(fence.lines)) return;
    const where = `${file}:${fence.start + 1}`;
    if (!SHELL.has(fence.info))
      throw new Error(`${where}: a curl example in a \`\`\`${fence.info} block; use \`\`\`sh`);
    const example: Example = {
      file,
      line: fence.start + 1,
      steps: stepsOf(fence.lines, fence.start + 2),
      server: {},
      models: {},
      untested: null,
    };
    for (const directive of directivesAbove(lines, fence.start)) {
      const [kind, value] = directive.split('\u0000');
      if (kind === 'example-server') {
        for (const pair of value.split(/\s+/).filter((p) => p !== '')) {
          const m = /^([A-Z][A-Z0-9_]*)=(\S*)$/.exec(pair);
          if (m === null) throw new Error(`${where}: example-server takes NAME=value pairs; got '${pair}'`);
          example.server[m[1]] = m[2];
        }
      } else if (kind === 'example-model') {
        const m = /^([A-Za-z0-9][\w.-]*)\s+(\S+)$/.exec(value);
        if (m === null) throw new Error(`${where}: example-model takes a model name and a directory; got '${value}'`);
        example.models[m[1]] = m[2];
      } else if (kind === 'example-file') {
        throw new Error(`${where}: example-file is for a block that shows a file, not for a curl example`);
      } else if (kind === 'example-untested') {
        if (value === '') throw new Error(`${where}: example-untested needs its reason`);
        example.untested = value;
      } else throw new Error(`${where}: unknown directive ${kind}`);
    }
    // The last step's answer may be the ```json block right below (blank lines between allowed).
    const next = fences[index + 1];
    const last = example.steps[example.steps.length - 1];
    if (next !== undefined && next.info === 'json' && lines.slice(fence.end + 1, next.start).every((l) => !l.trim())) {
      if (last.shown !== null)
        throw new Error(`${where}: the last step shows its answer twice (# lines and a json block)`);
      last.shown = next.lines.join('\n');
    }
    examples.push(example);
  });
  return examples;
}

/** A code block that shows a file of the repository as it is (`<!-- example-file: PATH -->` right above it). */
export interface ShownFile {
  file: string;
  line: number;
  /** Repo-relative. */
  path: string;
  info: string;
  text: string;
}

export function shownFilesOf(file: string, text: string): ShownFile[] {
  const lines = text.split('\n');
  const shown: ShownFile[] = [];
  for (const fence of fencesOf(lines)) {
    for (const directive of directivesAbove(lines, fence.start)) {
      const [kind, value] = directive.split('\u0000');
      if (kind === 'example-file')
        shown.push({ file, line: fence.start + 1, path: value, info: fence.info, text: fence.lines.join('\n') });
    }
  }
  return shown;
}

// --- shown answers ---------------------------------------------------------------------------------------------

/** A shown JSON value: JSON, where `...` (or `…`) may stand for a value, object members or array elements. */
export type Pattern =
  | { kind: 'any' }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'object'; members: Map<string, Pattern>; open: boolean }
  | { kind: 'array'; items: Pattern[] };

const ANY: Pattern = { kind: 'any' };

/** Parses a shown JSON answer; throws with the offset of what it cannot read. */
export function parsePattern(text: string): Pattern {
  let at = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${at}: ${JSON.stringify(text.slice(at, at + 30))}`);
  };
  const space = () => {
    while (at < text.length && /\s/.test(text[at])) at++;
  };
  const ellipsis = (): boolean => {
    space();
    if (text.startsWith('...', at)) at += 3;
    else if (text[at] === '…') at += 1;
    else return false;
    return true;
  };
  const string = (): string => {
    const m = /^"(?:[^"\\\n]|\\.)*"/.exec(text.slice(at));
    if (m === null) return fail('expected a string');
    at += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const value = (): Pattern => {
    if (ellipsis()) return ANY;
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const members = new Map<string, Pattern>();
      let open = false;
      space();
      if (text[at] === '}') {
        at++;
        return { kind: 'object', members, open };
      }
      for (;;) {
        if (ellipsis()) open = true;
        else {
          space();
          const key = string();
          space();
          if (text[at] !== ':') fail("expected ':'");
          at++;
          if (members.has(key)) fail(`'${key}' shown twice`);
          members.set(key, value());
        }
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') {
          at++;
          return { kind: 'object', members, open };
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      at++;
      const items: Pattern[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') {
          at++;
          return { kind: 'array', items };
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return { kind: 'literal', value: string() };
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(at));
    if (m === null) return fail('expected a JSON value');
    at += m[0].length;
    return { kind: 'literal', value: JSON.parse(m[0]) as number | boolean | null };
  };
  const pattern = value();
  space();
  if (at !== text.length) fail('unexpected text after the value');
  return pattern;
}

const describe = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * Where `actual` differs from the pattern (a JSON path and both values), or null when it matches. Numbers are
 * equal when the shown decimal reads back as the very same double: the service prints each float32 as its
 * shortest decimal, so a page shows exactly what the service writes. An object shown without `...` must have
 * exactly the shown members.
 */
export function mismatch(pattern: Pattern, actual: unknown, path = '$'): string | null {
  switch (pattern.kind) {
    case 'any':
      return null;
    case 'literal':
      return Object.is(pattern.value, actual) || pattern.value === actual
        ? null
        : `${path}: the page shows ${describe(pattern.value)}, the service answers ${describe(actual)}`;
    case 'object': {
      if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
        return `${path}: the page shows an object, the service answers ${describe(actual)}`;
      const record = actual as Record<string, unknown>;
      for (const [key, inner] of pattern.members) {
        if (!(key in record)) return `${path}: the page shows '${key}', the answer has no such member`;
        const found = mismatch(inner, record[key], `${path}.${key}`);
        if (found !== null) return found;
      }
      if (!pattern.open) {
        const extra = Object.keys(record).filter((key) => !pattern.members.has(key));
        if (extra.length > 0) return `${path}: the answer also has ${extra.join(', ')} (show them, or add ...)`;
      }
      return null;
    }
    case 'array': {
      if (!Array.isArray(actual)) return `${path}: the page shows an array, the service answers ${describe(actual)}`;
      return arrayMismatch(pattern.items, actual, path);
    }
  }
}

/** Matches shown items against actual elements, `...` items taking any run of elements (first mismatch reported). */
function arrayMismatch(items: readonly Pattern[], actual: readonly unknown[], path: string): string | null {
  const failures = new Map<string, string | null>();
  const match = (i: number, j: number): string | null => {
    const key = `${i},${j}`;
    if (failures.has(key)) return failures.get(key)!;
    let result: string | null;
    if (i === items.length)
      result = j === actual.length ? null : `${path}: the answer has ${actual.length} elements, the page shows ${j}`;
    else if (items[i].kind === 'any') {
      result = match(i + 1, j);
      for (let k = j + 1; result !== null && k <= actual.length; k++) {
        if (match(i + 1, k) === null) result = null;
      }
    } else if (j === actual.length) result = `${path}: the page shows more than the answer's ${actual.length} elements`;
    else result = mismatch(items[i], actual[j], `${path}[${j}]`) ?? match(i + 1, j + 1);
    failures.set(key, result);
    return result;
  };
  return match(0, 0);
}

/** Lines shown against lines printed: equal after trailing spaces, a shown `...` line taking any run of lines. */
function textMismatch(shown: string, actual: string): string | null {
  const want = shown.split('\n').map((l) => l.trimEnd());
  const got = actual
    .replace(/\n+$/, '')
    .split('\n')
    .map((l) => l.trimEnd());
  const match = (i: number, j: number): boolean => {
    if (i === want.length) return j === got.length;
    if (want[i] === '...' || want[i] === '…') {
      for (let k = j; k <= got.length; k++) if (match(i + 1, k)) return true;
      return false;
    }
    return j < got.length && want[i] === got[j] && match(i + 1, j + 1);
  };
  return match(0, 0) ? null : `the page shows:\n${shown}\nthe step printed:\n${actual}`;
}

/** An answer printed with `curl -i`: its status line, headers shown among the answer's, then the body. */
function httpMismatch(shown: string, actual: string): string | null {
  const split = (text: string, separator: RegExp) => {
    const m = separator.exec(text);
    return m === null ? [text, ''] : [text.slice(0, m.index), text.slice(m.index + m[0].length)];
  };
  const [wantHead, wantBody] = split(shown, /\n\s*\n|\n(?=[{[])/);
  const [gotHead, gotBody] = split(actual, /\r?\n\r?\n/);
  const wantLines = wantHead.split('\n').map((l) => l.trim());
  const gotLines = gotHead.split(/\r?\n/);
  if (wantLines[0] !== gotLines[0]) return `the page shows '${wantLines[0]}', the service answers '${gotLines[0]}'`;
  const headers = new Map<string, string>();
  for (const line of gotLines.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  for (const line of wantLines.slice(1)) {
    if (line === '...' || line === '…') continue;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const got = headers.get(name);
    if (got === undefined) return `the page shows the header ${name}; the answer has none`;
    if (value !== '...' && value !== got)
      return `header ${name}: the page shows '${value}', the service sends '${got}'`;
  }
  return wantBody.trim() === '' ? null : answerMismatch(wantBody, gotBody);
}

/** How a step's printed output differs from what the page shows, or null when it is what the page shows. */
export function answerMismatch(shown: string, actual: string): string | null {
  const trimmed = shown.trim();
  if (trimmed.startsWith('HTTP/')) return httpMismatch(trimmed, actual);
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(actual);
    } catch {
      return `the page shows JSON; the step printed:\n${actual}`;
    }
    return mismatch(parsePattern(trimmed), value);
  }
  return textMismatch(trimmed, actual);
}
