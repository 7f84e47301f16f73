/**
 * docs/configuration.md is generated from the environment variables' schemas and descriptions
 * (CONFIG_SECTIONS in src/config/environment.ts), as openapi.yaml is from schemas/:
 *   --write  regenerates it;  --check  fails (exit 1) when the committed file is stale;  no flag: prints it.
 * Defaults, ranges and allowed values are read from the zod schemas (their JSON Schema form), never restated.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { CONFIG_SECTIONS } from '../src/config/environment.js';
import { formatted, wrap } from './markdown.js';

export const CONFIGURATION_PAGE = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** A variable's schema in JSON Schema form (as its value is written in the environment), plus its metadata. */
interface VariableSchema {
  type?: string;
  enum?: (string | number)[];
  anyOf?: VariableSchema[];
  const?: string;
  format?: string;
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  description?: string;
  /** A default that depends on the machine, as a rule (the page must not show the generating machine's value). */
  defaultText?: string;
  /** What a text variable accepts, where its schema cannot say (it is parsed by a transform). */
  accepts?: string;
}

export interface DocumentedVariable {
  name: string;
  description: string;
  /** Markdown. */
  default: string;
  /** Markdown. */
  accepts: string;
}

const code = (value: unknown) => `\`${String(value)}\``;
const SUPERSCRIPTS = '⁰¹²³⁴⁵⁶⁷⁸⁹';
const superscript = (n: number) => [...String(n)].map((d) => SUPERSCRIPTS[Number(d)]).join('');

/** A number as the page shows it: the exact value, and its size in the unit its name says. */
function numberText(name: string, value: number): string {
  const exact = code(value);
  if (value === 0) return exact;
  if (name.endsWith('_BYTES')) {
    for (const [unit, size] of [
      ['GiB', 2 ** 30],
      ['MiB', 2 ** 20],
      ['KiB', 2 ** 10],
    ] as const) {
      if (value % size === 0) return `${exact} (${value / size} ${unit})`;
    }
    return exact;
  }
  if (name.endsWith('_MS') && value % 1000 === 0) return `${exact} (${value / 1000} s)`;
  // Large round numbers are easier to read as powers.
  if (value >= 2 ** 16 && Number.isInteger(Math.log2(value))) return `${exact} (2${superscript(Math.log2(value))})`;
  if (value >= 10 ** 6 && Number.isInteger(Math.log10(value))) return `${exact} (10${superscript(Math.log10(value))})`;
  return exact;
}

function defaultText(name: string, schema: VariableSchema): string {
  if (schema.defaultText !== undefined) return schema.defaultText;
  const value = schema.default;
  if (value === undefined)
    throw new Error(`${name} has no default: every variable needs one (an empty environment starts)`);
  if (value === '') return '_(empty)_';
  return typeof value === 'number' ? numberText(name, value) : code(value);
}

const FORMATS: Record<string, string> = { uri: 'a URL', email: 'an e-mail address' };

function acceptsText(name: string, schema: VariableSchema): string {
  if (schema.accepts !== undefined) return schema.accepts;
  if (schema.enum !== undefined) return schema.enum.map(code).join(', ');
  if (schema.anyOf !== undefined) {
    const empty = schema.anyOf.some((option) => option.const === '');
    const others = schema.anyOf.filter((option) => option.const !== '').map((option) => acceptsText(name, option));
    return [...(empty ? ['empty'] : []), ...others].join(' or ');
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'an integer' : 'a number';
    const min = schema.minimum ?? (schema.exclusiveMinimum === undefined ? undefined : schema.exclusiveMinimum + 1);
    const max = schema.maximum === Number.MAX_SAFE_INTEGER ? undefined : schema.maximum;
    if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
    if (min !== undefined) return `${kind} ≥ ${min}`;
    if (max !== undefined) return `${kind} ≤ ${max}`;
    return kind;
  }
  if (schema.type === 'string') {
    if (schema.format !== undefined) return FORMATS[schema.format] ?? `text (${schema.format})`;
    return schema.minLength === undefined ? 'text' : 'non-empty text';
  }
  throw new Error(`${name}: cannot say what it accepts (${JSON.stringify(schema)}); give it meta({ accepts })`);
}

/** One variable, documented from its schema. */
export function documentVariable(name: string, variable: z.ZodType): DocumentedVariable {
  const schema = z.toJSONSchema(variable, { io: 'input', unrepresentable: 'any' }) as VariableSchema;
  const description = schema.description?.trim() ?? '';
  if (description === '') throw new Error(`${name} has no description: give its schema .describe(...)`);
  return { name, description, default: defaultText(name, schema), accepts: acceptsText(name, schema) };
}

const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);
/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens (`### \`PORT\`` → port). */
const headingAnchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
const anchor = headingAnchor;

export function configurationReference(): string {
  const out: string[] = [
    '<!-- Generated from src/config/environment.ts by `npm run docs:config`; do not edit by hand',
    '     (`npm run docs:config:check`, part of `npm test`, fails when this page is stale). -->',
    '',
    '# Configuration',
    '',
    wrap(
      'Every setting is an environment variable, read once at start-up. A value the service does not accept stops ' +
        'it with one line on stderr naming the variable and what was wrong, and exit code 2; an empty environment ' +
        'starts with the defaults below.',
    ),
    '',
  ];
  for (const section of CONFIG_SECTIONS) out.push(`- [${section.title}](#${headingAnchor(section.title)})`);
  out.push('');
  for (const section of CONFIG_SECTIONS) {
    const variables = Object.entries(section.variables).map(([name, schema]) =>
      documentVariable(name, schema as z.ZodType),
    );
    out.push(`## ${section.title}`, '', wrap(section.about), '');
    out.push('| Variable | Default | Accepts |', '| --- | --- | --- |');
    for (const v of variables) out.push(`| [\`${v.name}\`](#${anchor(v.name)}) | ${v.default} | ${v.accepts} |`);
    out.push('');
    for (const v of variables) {
      out.push(`### \`${v.name}\``, '', wrap(sentence(v.description)), '');
      out.push(wrap(`Default: ${v.default}. Accepts ${v.accepts}.`), '');
    }
  }
  return formatted(`${out.join('\n').trimEnd()}\n`, 'docs/configuration.md');
}

async function main(mode: string | undefined): Promise<void> {
  const generated = configurationReference();
  if (mode === '--write') {
    await writeFile(CONFIGURATION_PAGE, generated);
    process.stdout.write(`wrote ${CONFIGURATION_PAGE}\n`);
  } else if (mode === '--check') {
    const committed = await readFile(CONFIGURATION_PAGE, 'utf8').catch(() => '');
    if (committed !== generated) {
      process.stderr.write('docs/configuration.md is stale: run `npm run docs:config` and commit the result\n');
      process.exit(1);
    }
    process.stdout.write('docs/configuration.md is up to date\n');
  } else {
    process.stdout.write(generated);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv[2]);
