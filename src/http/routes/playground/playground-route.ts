/**
 * The playground: GET / serves a page (src/http/routes/playground/public/index.html) that runs POST /rnn/forward from
 * the browser and draws the one-hot inputs, outputs and states as labelled heatmap tables, and streams what is typed
 * into its "Type to stream" panel to the served model next-char as a stateful sequence, a step per key;
 * GET /playground/<file> serves its scripts (ES modules importing one another), styles and icon. No build step: the
 * files are read once at start-up from `public/` beside this module when running from source, or from the same
 * folder under `<root>/src/` when running from `dist/src/` (the container image copies that directory beside
 * `dist/`). Start-up fails if neither has them, so a missing copy is caught at once rather than as a 404 in
 * someone's browser.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponse } from '../../../../schemas/problem.js';
import { ACTIVATION_NAMES } from '../../../engine/activations.js';
import {
  CELL_NAMES,
  type CellName,
  DEFAULT_CELL,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  DEFAULT_UNIT_FORGET_BIAS,
} from '../../../engine/cells.js';
import { MERGE_MODES } from '../../../engine/network.js';
import { documentHeaders } from '../../plugins/security-headers.js';

/** The page's policy: its own script, styles, icon and API, nothing inline, nothing from elsewhere. */
export const PLAYGROUND_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Next to this module when running from source, then `<root>/src/…/public/` when compiled into `dist/src/…`. */
export const PUBLIC_DIR_CANDIDATES = [
  new URL('./public/', import.meta.url),
  new URL('../../../../../src/http/routes/playground/public/', import.meta.url),
];

const SCRIPT = 'text/javascript; charset=utf-8';

/** The files the page loads, served at /playground/<name>. */
const ASSETS: Record<string, { type: string; description: string }> = {
  'playground.js': { type: SCRIPT, description: 'script (the forward pass form)' },
  'stream.js': { type: SCRIPT, description: 'script (the Type to stream panel)' },
  'stream-session.js': { type: SCRIPT, description: "script module (the Type to stream panel's sequence and queue)" },
  'draw.js': { type: SCRIPT, description: 'script module (heatmaps and alerts)' },
  'curl.js': { type: SCRIPT, description: 'script module (curl commands)' },
  'playground.css': { type: 'text/css; charset=utf-8', description: 'styles' },
  'favicon.svg': { type: 'image/svg+xml', description: 'icon' },
};
const PAGE = 'index.html';

/** The names of the files served at /playground/<name>. */
export const PLAYGROUND_ASSETS: readonly string[] = Object.keys(ASSETS);

interface Asset {
  body: Buffer;
  type: string;
}

function findPublicDir(): URL {
  const found = PUBLIC_DIR_CANDIDATES.find((dir) =>
    [PAGE, ...Object.keys(ASSETS)].every((name) => existsSync(new URL(name, dir))),
  );
  if (found === undefined) {
    const tried = PUBLIC_DIR_CANDIDATES.map((dir) => fileURLToPath(dir)).join(', ');
    throw new Error(
      `playground: ${PAGE} and its assets were not found in ${tried}; copy src/http/routes/playground/public/ beside dist/ (see the Dockerfile)`,
    );
  }
  return found;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const options = (values: readonly string[], selected: string, labels: Record<string, string> = {}) =>
  values
    .map(
      (v) =>
        `<option value="${escapeHtml(v)}"${v === selected ? ' selected' : ''}>${escapeHtml(labels[v] ?? v)}</option>`,
    )
    .join('');
const checked = (on: boolean) => (on ? ' checked' : '');

/** How the page names each cell (the values sent are the API's names). */
export const CELL_LABELS: Readonly<Record<CellName, string>> = { simpleRNN: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU' };

/**
 * Reads the page and its assets. The page's lists (activations, merge modes, cells) and the cells' defaults
 * come from the engine's own; the script sends a cell option only when it differs from the default selected
 * or checked here, so the defaults are stated once.
 */
export function loadPlayground(dir: URL = findPublicDir()): { page: Asset; assets: Map<string, Asset> } {
  const html = readFileSync(new URL(PAGE, dir), 'utf8')
    .replace('<!-- activation-options -->', options(ACTIVATION_NAMES, 'tanh'))
    .replace('<!-- merge-mode-options -->', options(MERGE_MODES, ''))
    .replace('<!-- cell-options -->', options(CELL_NAMES, DEFAULT_CELL, CELL_LABELS))
    .replace('<!-- recurrent-activation-options -->', options(ACTIVATION_NAMES, DEFAULT_RECURRENT_ACTIVATION))
    .replace(' data-default="unitForgetBias"', checked(DEFAULT_UNIT_FORGET_BIAS))
    .replace(' data-default="resetAfter"', checked(DEFAULT_RESET_AFTER));
  const assets = new Map(
    Object.entries(ASSETS).map(([name, { type }]) => [name, { body: readFileSync(new URL(name, dir)), type }]),
  );
  return { page: { body: Buffer.from(html, 'utf8'), type: 'text/html; charset=utf-8' }, assets };
}

/** `no-cache`: a few kilobytes fetched afresh each time, so a new page is never run with an old script. */
function sendAsset(reply: FastifyReply, { body, type }: Asset): FastifyReply {
  return reply.header('cache-control', 'no-cache').type(type).send(body);
}

const problem = problemResponse;

const playgroundRoute: FastifyPluginAsyncZod = async (app) => {
  const { page, assets } = loadPlayground();

  app.get('/', {
    schema: {
      tags: ['playground'],
      summary: 'The playground: an HTML page that runs /rnn/forward and draws the results',
      description:
        "Enter texts (the lecture's `hello`, `eolll`, `lleel`) or numeric inputs and the model options (the cell: " +
        'SimpleRNN, LSTM or GRU); the page calls POST /rnn/forward from the browser and shows the one-hot inputs, ' +
        'outputs and final states (for an LSTM, the final cell state c beside h) as labelled heatmaps, ' +
        'the shapes, and the equivalent curl command. Its "Type to stream" panel sends each character typed as one ' +
        'step of a stateful sequence (`sequenceId`) to POST /models/next-char/forward and draws h after every key ' +
        'and the most likely next characters. Same-origin assets only, under a strict Content-Security-Policy.',
      response: {
        200: { description: 'The page', content: { 'text/html': { schema: z.string() } } },
        405: problem('Known route, other method (see `Allow`)'),
        500: problem('Unexpected server error (logged; no details exposed)'),
      },
    },
    // The page (not an error answer) gets its own policy and the headers an HTML document needs.
    onSend: documentHeaders(PLAYGROUND_CSP),
    handler: async (_request, reply) => sendAsset(reply, page),
  });

  // One route per asset (not /playground/:asset) so that the app's not-found handler can tell "no such
  // asset" (404) from "this asset, another method" (405 with Allow), which it does by exact route.
  for (const [name, { description }] of Object.entries(ASSETS)) {
    const found = assets.get(name)!;
    app.get(`/playground/${name}`, {
      schema: {
        tags: ['playground'],
        summary: `The playground's ${description}`,
        description: `The ${description} that the playground page (GET /) loads, sent with \`Cache-Control: no-cache\`.`,
        response: {
          200: { description: `The ${description}`, content: { [found.type.split(';')[0]]: { schema: z.string() } } },
          405: problem('Known route, other method (see `Allow`)'),
          500: problem('Unexpected server error (logged; no details exposed)'),
        },
      },
      handler: async (_request, reply) => sendAsset(reply, found),
    });
  }
};

export default playgroundRoute;
