/**
 * openapi.yaml is generated from the zod schemas in schemas/ (through the routes that use them):
 *   --write  regenerates it;  --check  fails (exit 1) when the committed file is stale.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { Document, isScalar, visit } from 'yaml';
import { buildApp } from '../src/http/app.js';
import { defaultConfig } from '../src/config/config.js';

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export async function generateOpenApi(): Promise<string> {
  const app = await buildApp(defaultConfig, { logger: pino({ level: 'silent' }) });
  try {
    const header =
      '# Generated from schemas/ by `npm run openapi`; do not edit by hand (`npm run openapi:check` fails when stale).\n';
    const document = new Document(app.swagger(), { aliasDuplicateObjects: false });
    // Arrays of plain values (tensor examples, enums, required lists) read best on one line.
    visit(document, {
      Seq(_key, node) {
        if (node.items.every((item) => isScalar(item))) node.flow = true;
      },
    });
    return header + document.toString({ lineWidth: 0 });
  } finally {
    await app.close();
  }
}

const mode = process.argv[2];
const generated = await generateOpenApi();
if (mode === '--write') {
  await writeFile(target, generated);
  process.stdout.write(`wrote ${target}\n`);
} else if (mode === '--check') {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== generated) {
    process.stderr.write('openapi.yaml is stale: run `npm run openapi` and commit the result\n');
    process.exit(1);
  }
  process.stdout.write('openapi.yaml is up to date\n');
} else {
  process.stdout.write(generated);
}
