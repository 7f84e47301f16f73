/**
 * Every curl example in the docs, run as a reader runs it: the block's lines in bash, with the real curl, against
 * the real server process (started as test/helpers/server.ts starts it, serving the repository's models/), and
 * each step's output compared with what the page shows (test/helpers/doc-examples.ts reads the convention).
 *
 * Real curl rather than a reading of its command line in Node: the examples are shell a reader pastes, so only
 * bash and curl themselves prove the quoting, `--data-binary @-`, `-H` and `-i` do what the page says; an
 * emulation would test our emulation. Needs curl and bash (`apt-get install -y curl`; .ci/run installs it).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { answerMismatch, type Example, examplesOf, shownFilesOf } from '../helpers/doc-examples.js';
import { markdownFiles, ROOT } from '../helpers/markdown.js';
import { startServer } from '../helpers/server.js';

/** The address every example names: the service's default port. */
const ADDRESS = 'localhost:8080';
/** Printed after each step, to tell the steps' outputs apart: a new random token per run, so no output holds it. */
const MARK = `end-of-step-${randomUUID()}`;
const STEP_END = (index: number) => `printf '\\n%s %d\\n' ${MARK} ${index}`;
const STEP_MARK = new RegExp(`\n${MARK} (\\d+)\n`);

const curl = (() => {
  try {
    return execFileSync('curl', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return null;
  }
})();

const pages = markdownFiles().map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));
const examples: Example[] = pages.flatMap((page) => examplesOf(page.file, page.text));

const scratch = mkdtempSync(join(tmpdir(), 'rnn-serve-docs-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

/** Resolves once GET /readyz answers 200 (the warm-up pass has run). */
async function ready(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the server on port ${port} never became ready`);
}

/** One server per distinct environment and repository, started on first use and stopped at the end. */
const servers = new Map<string, Promise<number>>();
function serverFor(example: Example): Promise<number> {
  const key = JSON.stringify([example.server, example.models]);
  let port = servers.get(key);
  if (port === undefined) {
    let modelsDir = join(ROOT, 'models');
    if (Object.keys(example.models).length > 0) {
      // The shipped repository plus the example's models, copied: a symlink leaving MODELS_DIR is refused.
      modelsDir = join(scratch, `models-${servers.size}`);
      for (const name of readdirSync(join(ROOT, 'models')))
        cpSync(join(ROOT, 'models', name), join(modelsDir, name), { recursive: true });
      for (const [name, source] of Object.entries(example.models))
        cpSync(join(ROOT, source), join(modelsDir, name, '1'), { recursive: true });
    }
    port = startServer(t, { MODELS_DIR: modelsDir, ...example.server }).then(async (server) => {
      await ready(server.port);
      return server.port;
    });
    servers.set(key, port);
  }
  return port;
}

/** Runs an example's steps as one bash script in an empty directory; each step's output, in order. */
async function run(
  example: Example,
  port: number,
): Promise<{ outputs: string[]; code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(scratch, 'example-'));
  const script = ['set -euo pipefail'];
  example.steps.forEach((step, index) => script.push(...step.script, STEP_END(index)));
  const text = script.join('\n').replaceAll(ADDRESS, `127.0.0.1:${port}`);
  const child = spawn('bash', ['-c', text], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const parts = Buffer.concat(stdout).toString('utf8').split(STEP_MARK);
  // split() with a capture group: output, index, output, index, ..., what came after the last mark
  const outputs = parts.filter((_, i) => i % 2 === 0).slice(0, example.steps.length);
  return { outputs, code, stderr };
}

t.test('the docs have curl examples, each at the default address', async (t) => {
  t.ok(examples.length >= 20, `${examples.length} examples`);
  for (const example of examples) {
    const text = example.steps.flatMap((step) => step.script).join('\n');
    const elsewhere = /\b(localhost|127\.0\.0\.1):(\d+)/.exec(text.replaceAll(ADDRESS, ''));
    t.equal(elsewhere, null, `${example.file}:${example.line} names ${ADDRESS} (the default PORT)`);
  }
  const untested = examples.filter((example) => example.untested !== null);
  for (const example of untested) t.comment(`not run: ${example.file}:${example.line}: ${example.untested}`);
  t.ok(untested.length <= 3, `few examples are marked example-untested (${untested.length})`);
});

t.test('a block that shows a repository file shows it as it is', async (t) => {
  const shown = pages.flatMap((page) => shownFilesOf(page.file, page.text));
  t.ok(shown.length > 0, `${shown.length} such blocks`);
  for (const block of shown) {
    const actual = readFileSync(join(ROOT, block.path), 'utf8');
    const where = `${block.file}:${block.line} shows ${block.path}`;
    if (block.info === 'json') t.same(JSON.parse(block.text), JSON.parse(actual), where);
    else t.equal(block.text, actual.replace(/\n$/, ''), where);
  }
});

for (const example of examples) {
  if (example.untested !== null) continue;
  t.test(`${example.file}:${example.line}`, async (t) => {
    if (curl === null) {
      t.fail('curl is missing: install it (apt-get install -y curl); the docs examples run the real curl');
      return;
    }
    const port = await serverFor(example);
    const { outputs, code, stderr } = await run(example, port);
    t.equal(code, 0, `the block runs to the end${stderr ? `; stderr: ${stderr}` : ''}`);
    example.steps.forEach((step, index) => {
      const output = outputs[index] ?? '';
      const where = `${example.file}:${step.line}`;
      if (step.shown === null) t.equal(output, '', `${where} prints nothing, as the page shows`);
      else {
        const found = answerMismatch(step.shown, output);
        t.equal(found, null, `${where} answers what the page shows`);
        if (found !== null) t.comment(`${where} printed:\n${output}`);
      }
    });
  });
}
