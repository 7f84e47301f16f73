/**
 * Every repository path a comment or a document names must exist: a comment that sends the reader to a test that
 * has since moved is worse than none. Reads the comments of src/, schemas/, test/, bench/ and scripts/ (TypeScript
 * and JavaScript through the TypeScript parser, so `//` in a string or a URL is not taken for one; `#` comments and
 * docstrings of Python and shell; HTML and CSS comments), the Markdown documents (outside fenced code blocks, which
 * show a user's own files), .ci/run and the Dockerfile.
 *
 * A path (`src/http/app.ts`, `docs/`, `models/onnx/backend.ts`) must resolve from the repository root, from the
 * file that names it, or from src/ (comments in src/ name files by their layer: `runtime/pool.ts`); a `.js` name
 * may stand for its `.ts` source, and a path under dist/ for the source it is built from (`dist/bench/run.js`).
 * A path that starts elsewhere than a top-level folder (`plugins/json-body.ts` in a paragraph about src/http,
 * `hello/1/model.json` inside the model repository) must be the end of some file's path. A bare file name
 * (`metric-series.ts`) must be the name of some file of the repository. Placeholders (`NAME/VERSION/model.json`,
 * `<dir>/`, globs) are not paths; NOT_OUR_FILES lists the few names that look like files and are not ours.
 *   node --import tsx scripts/repository-paths.ts   prints each unresolved name; exit 1 if there is one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Folders whose files are read; test/fixtures holds data, not prose. */
const SCANNED_FOLDERS = ['src', 'schemas', 'test', 'bench', 'scripts', 'docs'];
const NOT_SCANNED = 'test/fixtures/';
/** Not the repository's: installed packages, the build, git's own. */
const NOT_OURS = new Set(['node_modules', 'dist', '.git']);
const TOP_LEVEL_FILES = ['.ci/run', 'Dockerfile'];

/**
 * Names that look like file names and are not ours, each for a reason: products whose names end in `.js`, and files
 * of other projects that comments cite as the source of a rule or a number.
 */
export const NOT_OUR_FILES = new Set([
  'TF.js', // TensorFlow.js, the library
  'TensorFlow.js',
  'asm.js', // the JavaScript subset our kernels are written in
  'Node.js',
  'selu_util.ts', // tfjs-core's, where TF.js defines SELU's constants
  'lib.es2023.d.ts', // TypeScript's standard library, which the OpenAPI client workspace compiles against
  'torch.onnx', // PyTorch's ONNX exporter (`torch.onnx.export`), a module
  'api.d.ts', // the client types README tells a reader to generate with openapi-typescript
  'recurrent.ts', // tfjs-layers' recurrent layers, a codebase the engine is modelled on (docs/architecture.md)
]);

const FILE_EXTENSIONS = 'ts|js|mjs|cjs|mts|py|sh|md|json|yaml|yml|html|css|svg|onnx|bin|txt|proto';
/** A path: segments joined by `/`, either ending in a file extension or in `/` (a folder). */
const PATH = new RegExp(
  `(?<![\\w./@:%~\\\\-])((?:\\.{1,2}/)?[\\w.-]+(?:/[\\w.-]+)+(?:\\.(?:${FILE_EXTENSIONS})\\b|/))`,
  'g',
);
/** A bare file name, not part of a path or a URL. */
const FILE_NAME = new RegExp(`(?<![\\w./@:%~\\\\-])([A-Za-z0-9_][\\w.-]*\\.(?:${FILE_EXTENSIONS}))(?![\\w/-])`, 'g');
/** The folders a path without `./` may start from in our prose: a path elsewhere (`application/json`) is not one. */
const FOLDER_PREFIX = /^(\.{1,2}\/|\.ci\/|src\/|schemas\/|test\/|bench\/|scripts\/|docs\/|deploy\/|models\/)/;

export interface UnresolvedName {
  /** The file that names it, relative to the root. */
  file: string;
  line: number;
  name: string;
}

function filesUnder(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (NOT_OURS.has(entry.name)) continue;
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(full));
    else found.push(full);
  }
  return found;
}

/** The files read, relative to `root`. */
export function scannedFiles(root = ROOT): string[] {
  const files = SCANNED_FOLDERS.flatMap((folder) => filesUnder(path.join(root, folder)));
  for (const name of readdirSync(root)) if (name.endsWith('.md')) files.push(path.join(root, name));
  for (const name of TOP_LEVEL_FILES) if (existsSync(path.join(root, name))) files.push(path.join(root, name));
  return files
    .map((file) => path.relative(root, file))
    .filter((file) => !file.startsWith(NOT_SCANNED))
    .sort();
}

/** A piece of prose and the offset in its file where it starts (for line numbers). */
interface Prose {
  text: string;
  at: number;
}

/** Every comment of a TypeScript or JavaScript source: the leading and trailing comments of every token. */
function scriptComments(text: string, fileName: string): Prose[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const seen = new Set<number>();
  const found: Prose[] = [];
  const take = (ranges: readonly ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      found.push({ text: text.slice(range.pos, range.end), at: range.pos });
    }
  };
  const visit = (node: ts.Node) => {
    take(ts.getLeadingCommentRanges(text, node.getFullStart()));
    take(ts.getTrailingCommentRanges(text, node.getEnd()));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  take(ts.getLeadingCommentRanges(text, source.getEnd()));
  return found;
}

const matches = (text: string, pattern: RegExp): Prose[] =>
  [...text.matchAll(pattern)].map((m) => ({ text: m[0], at: m.index ?? 0 }));

/** Markdown outside fenced code blocks (kept at their offsets, blanked). */
function markdownProse(text: string): Prose[] {
  return [
    { text: text.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/\S/g, ' ')), at: 0 },
  ];
}

/** The prose of a file: its comments, or all of a document. */
export function proseOf(file: string, text: string): Prose[] {
  const extension = path.extname(file);
  if (['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(extension)) return scriptComments(text, file);
  if (extension === '.md') return markdownProse(text);
  if (extension === '.html') return matches(text, /<!--[\s\S]*?-->/g);
  if (extension === '.css') return matches(text, /\/\*[\s\S]*?\*\//g);
  if (extension === '.py') return [...matches(text, /"""[\s\S]*?"""/g), ...matches(text, /(?:^|\s)#[^\n]*/gm)];
  if (extension === '.sh' || file === '.ci/run' || file === 'Dockerfile') return matches(text, /(?:^|\s)#[^\n]*/gm);
  return [];
}

const isPlaceholder = (name: string) =>
  /[*<>{}]/.test(name) || name.split('/').some((segment) => /^[A-Z][A-Z_]*$/.test(segment));

/** The repository's files (relative paths) and their names: what a name in prose may refer to. */
export interface RepositoryFiles {
  readonly paths: readonly string[];
  readonly names: ReadonlySet<string>;
  readonly topFolders: ReadonlySet<string>;
}

export function repositoryFiles(root = ROOT): RepositoryFiles {
  const paths = filesUnder(root).map((file) => path.relative(root, file));
  const topFolders = new Set(
    readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !NOT_OURS.has(entry.name))
      .map((entry) => entry.name),
  );
  return { paths, names: new Set(paths.map((file) => path.basename(file))), topFolders };
}

function resolves(root: string, file: string, name: string, repository: RepositoryFiles): boolean {
  const built = /^dist\/(.+)\.js$/.exec(name);
  const candidates = built ? [`${built[1]}.ts`] : [name, ...(name.endsWith('.js') ? [`${name.slice(0, -3)}.ts`] : [])];
  const bases = [root, path.join(root, path.dirname(file)), path.join(root, 'src')];
  if (bases.some((base) => candidates.some((candidate) => existsSync(path.join(base, candidate))))) return true;
  // From a top-level folder, the path had to resolve from the root; from elsewhere it may be the end of one.
  if (built || repository.topFolders.has(name.split('/')[0])) return false;
  const tail = name.replace(/^(\.{1,2}\/)+/, '').replace(/\/$/, '');
  return repository.paths.some((p) => candidates.some((c) => p.endsWith(`/${c}`)) || p.includes(`/${tail}/`));
}

/** The names in `prose` (of `file`, whose text is `text`) that resolve to nothing. */
export function unresolvedIn(
  file: string,
  text: string,
  root = ROOT,
  repository: RepositoryFiles = repositoryFiles(root),
): UnresolvedName[] {
  const { names } = repository;
  const unresolved: UnresolvedName[] = [];
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const prose of proseOf(file, text)) {
    for (const m of prose.text.matchAll(PATH)) {
      const name = m[1];
      if (isPlaceholder(name) || (!FOLDER_PREFIX.test(name) && !/\.\w+$/.test(name))) continue;
      if (!resolves(root, file, name, repository))
        unresolved.push({ file, line: lineOf(prose.at + (m.index ?? 0)), name });
    }
    for (const m of prose.text.matchAll(FILE_NAME)) {
      const name = m[1];
      if (NOT_OUR_FILES.has(name) || names.has(name)) continue;
      if (name.endsWith('.js') && names.has(`${name.slice(0, -3)}.ts`)) continue;
      unresolved.push({ file, line: lineOf(prose.at + (m.index ?? 0)), name });
    }
  }
  return unresolved;
}

/** Every name in the repository's comments and documents that resolves to nothing. */
export function unresolvedNames(root = ROOT): UnresolvedName[] {
  const repository = repositoryFiles(root);
  return scannedFiles(root).flatMap((file) =>
    unresolvedIn(file, readFileSync(path.join(root, file), 'utf8'), root, repository),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const unresolved = unresolvedNames();
  for (const { file, line, name } of unresolved) process.stdout.write(`${file}:${line}: ${name} does not exist\n`);
  process.exit(unresolved.length === 0 ? 0 : 1);
}
