/**
 * docs/metrics.md is generated from the Prometheus registry of an app built as production builds it (every metric's
 * name, type, labels, histogram buckets and HELP text, as GET /metrics exposes them), as openapi.yaml is from schemas/:
 *   --write  regenerates it;  --check  fails (exit 1) when the committed file is stale;  no flag: prints it.
 * prom-client's process metrics differ a little between platforms and Node versions (a metric appears where Node
 * offers its source): the committed page is made on Linux under the Node of `npm test` (20).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { defaultConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { MISNAMED_DEFAULT_GAUGES, UNMATCHED_ROUTE } from '../src/http/plugins/metrics.js';
import { formatted, wrap } from './markdown.js';

const NO_MODELS = fileURLToPath(new URL('../test/fixtures/no-models', import.meta.url));
export const METRICS_PAGE = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));

/** What the registry holds of a metric (prom-client's classes and our series sets both have these). */
export interface MetricEntry {
  name: string;
  type: string;
  help: string;
  labelNames: readonly string[];
  upperBounds?: readonly number[];
}

/** Every metric of a freshly built app, in registry order. */
export async function registeredMetrics(): Promise<MetricEntry[]> {
  // An empty repository (a folder that does not exist) and no workers: the metrics are the same without them.
  const app = await buildApp(
    {
      ...defaultConfig,
      pool: { ...defaultConfig.pool, threads: 0 },
      models: { ...defaultConfig.models, dir: NO_MODELS },
    },
    { logger: pino({ level: 'silent' }) },
  );
  try {
    return (app.metrics.registry.getMetricsAsArray() as unknown as MetricEntry[]).map((m) => ({
      name: m.name,
      type: m.type,
      help: m.help,
      labelNames: m.labelNames ?? [],
      ...(m.type === 'histogram' && m.upperBounds ? { upperBounds: [...m.upperBounds] } : {}),
    }));
  } finally {
    await app.close();
  }
}

/** Bucket bounds, short: powers of two as a range. */
function bucketsText(bounds: readonly number[]): string {
  const powersOfTwo = bounds.every((b, i) => b === 2 ** i);
  if (powersOfTwo && bounds.length > 3) return `1, 2, 4, … ${bounds[bounds.length - 1]} (powers of 2)`;
  return bounds.join(', ');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

function table(metrics: readonly MetricEntry[]): string[] {
  const rows = ['| Metric | Type | Labels | Meaning |', '| --- | --- | --- | --- |'];
  for (const m of metrics) {
    const labels = m.labelNames.length === 0 ? '' : m.labelNames.map((l) => `\`${l}\``).join(', ');
    const buckets = m.upperBounds ? ` Buckets (\`le\`): ${bucketsText(m.upperBounds)}.` : '';
    rows.push(`| \`${m.name}\` | ${m.type} | ${labels} | ${cell(sentence(m.help) + buckets)} |`);
  }
  return rows;
}

export function metricsReference(metrics: readonly MetricEntry[]): string {
  const ours = metrics.filter((m) => m.name.startsWith('http_') || m.name.startsWith('rnn_'));
  const defaults = metrics.filter((m) => !ours.includes(m));
  const misnamed = MISNAMED_DEFAULT_GAUGES.map((name) => `\`${name}\``).join(', ');
  const out = [
    '<!-- Generated from the metrics registry by `npm run docs:metrics`; do not edit by hand',
    '     (`npm run docs:metrics:check`, part of `npm test`, fails when this page is stale). -->',
    '',
    '# Metrics',
    '',
    wrap(
      '`GET /metrics` answers in the Prometheus text format (version 0.0.4). It is open unless API keys are configured ' +
        'and `METRICS_AUTH` is true, is never shed or rate limited, and passes `promtool check metrics` with no ' +
        'findings (a test holds it so). Each process has its own registry: with several instances, sum over them.',
    ),
    '',
    '## The service',
    '',
    wrap(
      'Requests are labelled by route template (`/models/:name/forward`), never by the raw URL, so the number of ' +
        `series stays bounded; a request no route matched is \`route="${UNMATCHED_ROUTE}"\`. Served models are ` +
        'labelled by their name and version in the repository. A request is counted and timed once its answer is ' +
        'sent (`http_requests_total` is the count of `http_request_duration_seconds`).',
    ),
    '',
    ...table(ours),
    '',
    '## The process and Node.js',
    '',
    wrap(
      "prom-client's default metrics, as its `collectDefaultMetrics` registers them, without " +
        `${misnamed}: gauges named like counters (Prometheus keeps \`_total\` for counters), each the sum of the ` +
        'per-type gauge of the same name without `_total`. For a total, sum that one: `sum(nodejs_active_handles)` ' +
        '(`or vector(0)` where none is active).',
    ),
    '',
    ...table(defaults),
    '',
  ];
  return formatted(out.join('\n'), 'docs/metrics.md');
}

async function main(mode: string | undefined): Promise<void> {
  const generated = metricsReference(await registeredMetrics());
  if (mode === '--write') {
    await writeFile(METRICS_PAGE, generated);
    process.stdout.write(`wrote ${METRICS_PAGE}\n`);
  } else if (mode === '--check') {
    const committed = await readFile(METRICS_PAGE, 'utf8').catch(() => '');
    if (committed !== generated) {
      process.stderr.write('docs/metrics.md is stale: run `npm run docs:metrics` and commit the result\n');
      process.exit(1);
    }
    process.stdout.write('docs/metrics.md is up to date\n');
  } else {
    process.stdout.write(generated);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(process.argv[2]);
