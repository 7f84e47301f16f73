/**
 * Which modules of src/ have a unit test at the mirrored path: a module under src/ is tested by the file of the
 * same path under test/, its `.ts` ending `.test.ts` (src/inference/model.ts by test/inference/model.test.ts), so a
 * newcomer who opens a module finds its test without searching. Prints each src file without one, then the count.
 * A module of types only (interfaces, type aliases: nothing runs) is listed apart and not counted: a test of it
 * could not fail. An untested module for which a test of its name exists elsewhere (its name with `.test.ts`, or
 * for a route module, whose name ends in `-route`, its name without that) is listed with it: a test to move to
 * the mirrored path (src/http/routes/rnn/forward-route.ts, tested by test/http/routes/rnn/forward.test.ts).
 *   node --import tsx scripts/mirrored-tests.ts           the untested modules and the count
 *   node --import tsx scripts/mirrored-tests.ts --tested  the tested ones as well
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every .ts file under `dir`, relative to it, `/`-separated, sorted. */
function tsFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(child);
    }
  };
  walk('');
  return found.sort();
}

/** Whether the module declares nothing that runs: imports, interfaces, type aliases and type exports only. */
export function typesOnly(file: string): boolean {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  return source.statements.every((statement) => {
    if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) return true;
    if (ts.isImportDeclaration(statement)) return true;
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      return (
        statement.isTypeOnly ||
        (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly))
      );
    }
    return false;
  });
}

export interface MirrorReport {
  tested: string[];
  untested: string[];
  /** Untested module → test files elsewhere with its name (candidates for a move). */
  elsewhere: Map<string, string[]>;
  /** Modules of types only, not counted. */
  types: string[];
}

/** src files (relative to src/) split by whether test/<same path>.test.ts exists. */
export function mirroredTests(root: string = ROOT): MirrorReport {
  const report: MirrorReport = { tested: [], untested: [], types: [], elsewhere: new Map() };
  const modules = tsFiles(path.join(root, 'src'));
  // A test file that is some module's mirror already is not a candidate for another's.
  const mirrors = new Set(modules.map((file) => file.replace(/\.ts$/, '.test.ts')));
  const tests = tsFiles(path.join(root, 'test')).filter((file) => file.endsWith('.test.ts') && !mirrors.has(file));
  for (const file of modules) {
    if (typesOnly(path.join(root, 'src', file))) {
      report.types.push(file);
      continue;
    }
    const test = path.join(root, 'test', file.replace(/\.ts$/, '.test.ts'));
    if (existsSync(test)) {
      report.tested.push(file);
      continue;
    }
    report.untested.push(file);
    const name = path.posix.basename(file, '.ts');
    const names = new Set([`${name}.test.ts`, `${name.replace(/-route$/, '')}.test.ts`]);
    const found = tests.filter((candidate) => names.has(path.posix.basename(candidate))).map((c) => `test/${c}`);
    if (found.length > 0) report.elsewhere.set(file, found);
  }
  return report;
}

function main(): void {
  const report = mirroredTests();
  const total = report.tested.length + report.untested.length;
  if (process.argv.includes('--tested')) {
    for (const file of report.tested) process.stdout.write(`tested    src/${file}\n`);
  }
  for (const file of report.untested) {
    const elsewhere = report.elsewhere.get(file);
    process.stdout.write(`untested  src/${file}${elsewhere ? ` (a test of its name: ${elsewhere.join(', ')})` : ''}\n`);
  }
  for (const file of report.types) process.stdout.write(`types     src/${file} (not counted)\n`);
  const percent = total === 0 ? 100 : (100 * report.tested.length) / total;
  process.stdout.write(
    `${report.tested.length} of ${total} src files with code have a test at the mirrored path (${percent.toFixed(1)}%)\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
