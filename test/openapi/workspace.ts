/**
 * A throwaway client project for the OpenAPI tests: a temporary directory (removed when the test ends) whose
 * `node_modules` links to the repo's, so the client programs there resolve `openapi-fetch` exactly as a
 * consumer's would. Types are generated into it from the committed openapi.yaml with openapi-typescript's
 * programmatic API, client programs are copied in from fixtures/, and the TypeScript compiler API
 * type-checks (and compiles) them.
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, type OpenAPITSOptions } from 'openapi-typescript';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SPEC_PATH = path.join(ROOT, 'openapi.yaml');
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** What a careful consumer would compile with: strict, plus the flags that make indexing and optionals honest. */
export const STRICT_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitReturns: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  skipLibCheck: true,
};

export interface Diagnostic {
  file: string;
  line: number;
  code: string;
  message: string;
}

export interface Workspace {
  dir: string;
  /** Writes the types openapi-typescript generates from openapi.yaml to `name` and returns their source. */
  generateTypes(name: string, options?: OpenAPITSOptions): Promise<string>;
  /** Copies fixtures/<fixture> (a `.ts.txt` file, so the repo's own typecheck skips it) to `name`. */
  addFixture(fixture: string, name: string): Promise<string>;
  /** Type-checks `files` as one program; with `emit`, also writes their `.js` next to them. */
  typeCheck(files: string[], options?: { emit?: boolean }): Diagnostic[];
}

export async function workspace(t: { teardown(fn: () => unknown): void }): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rnn-serve-client-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'rnn-serve-client-fixture', private: true, type: 'module' }),
  );
  const spec = await readFile(SPEC_PATH, 'utf8');

  return {
    dir,
    async generateTypes(name, options = {}) {
      const source = astToString(await openapiTS(spec, { silent: true, ...options }));
      await writeFile(path.join(dir, name), source);
      return source;
    },
    async addFixture(fixture, name) {
      const source = await readFile(path.join(FIXTURES, fixture), 'utf8');
      await writeFile(path.join(dir, name), source);
      return source;
    },
    typeCheck(files, { emit = false } = {}) {
      const program = ts.createProgram(
        files.map((file) => path.join(dir, file)),
        { ...STRICT_OPTIONS, noEmit: !emit },
      );
      const diagnostics = [...ts.getPreEmitDiagnostics(program)];
      if (emit) diagnostics.push(...program.emit().diagnostics);
      return diagnostics.map((d) => ({
        file: d.file === undefined ? '' : path.relative(dir, d.file.fileName),
        line:
          d.file === undefined || d.start === undefined ? 0 : d.file.getLineAndCharacterOfPosition(d.start).line + 1,
        code: `TS${d.code}`,
        message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      }));
    },
  };
}

/** The `// @expect TS1234` markers of a fixture, as `line:code` (1-based lines). */
export function expectedDiagnostics(source: string): string[] {
  const expected: string[] = [];
  source.split('\n').forEach((text, index) => {
    const marker = /\/\/ @expect ((?:TS\d+\s*)+)/.exec(text);
    if (marker) for (const code of marker[1].trim().split(/\s+/)) expected.push(`${index + 1}:${code}`);
  });
  return expected.sort();
}
