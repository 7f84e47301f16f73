/**
 * GET / and its assets, without a browser: the page is HTML under a strict same-origin policy, every asset
 * it references is served, its option lists are the engine's, and anything else under /playground/ is a
 * 404 problem. The files are found from the source tree and from the compiled layout alike.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ACTIVATION_NAMES } from '../../src/engine/activations.js';
import {
  CELL_NAMES,
  DEFAULT_RECURRENT_ACTIVATION,
  DEFAULT_RESET_AFTER,
  DEFAULT_UNIT_FORGET_BIAS,
} from '../../src/engine/cells.js';
import { MERGE_MODES } from '../../src/engine/network.js';
import {
  CELL_LABELS,
  loadPlayground,
  PLAYGROUND_ASSETS,
  PLAYGROUND_CSP,
  PUBLIC_DIR_CANDIDATES,
} from '../../src/http/routes/playground/playground-route.js';
import { build } from '../helpers/build.js';

const PUBLIC = new URL('../../src/http/routes/playground/public/', import.meta.url);

t.test('GET / is the page, as text/html under a same-origin Content-Security-Policy', async (t) => {
  const { app } = await build(t);
  const res = await app.inject({ method: 'GET', url: '/' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(res.headers['cache-control'], 'no-cache');
  t.equal(res.headers['content-security-policy'], PLAYGROUND_CSP);
  t.equal(res.headers['x-content-type-options'], 'nosniff', 'the app-wide security headers are kept');
  const csp = String(res.headers['content-security-policy']);
  for (const directive of [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
  ]) {
    t.ok(csp.includes(directive), directive);
  }
  t.notMatch(csp, /unsafe|\*|https?:|data:/, 'nothing inline, nothing from elsewhere');

  const html = res.body;
  t.match(html, /^<!doctype html>/);
  t.match(html, /<html lang="en">/);
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or event handler attribute');
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'no external URL');
  t.notMatch(html, /<!-- (activation|merge-mode)-options -->/, 'the option placeholders are filled in');
  for (const name of ACTIVATION_NAMES) t.match(html, `<option value="${name}"`, `activation ${name} is offered`);
  for (const mode of MERGE_MODES) t.match(html, `<option value="${mode}"`, `merge mode ${mode} is offered`);
  t.match(html, '<option value="tanh" selected>');

  // The cell choice: SimpleRNN (the default), LSTM, GRU, and each cell's options, hidden until that cell is chosen.
  const select = (id: string) => new RegExp(`<select id="${id}"[^>]*>(.*?)</select>`).exec(html)?.[1] ?? '';
  t.same(
    [...select('cell').matchAll(/<option value="([^"]+)"( selected)?>([^<]+)<\/option>/g)].map((m) => [
      m[1],
      m[2] ?? '',
      m[3],
    ]),
    [
      ['simpleRNN', ' selected', 'SimpleRNN'],
      ['lstm', '', 'LSTM'],
      ['gru', '', 'GRU'],
    ],
    'the three cells, SimpleRNN selected',
  );
  t.same(Object.keys(CELL_LABELS), [...CELL_NAMES], 'a label for every cell the engine has');
  t.same(
    [...select('recurrentActivation').matchAll(/<option value="([^"]+)"/g)].map((m) => m[1]),
    [...ACTIVATION_NAMES],
    'every activation for the gates',
  );
  t.match(select('recurrentActivation'), `<option value="${DEFAULT_RECURRENT_ACTIVATION}" selected>`);
  t.equal(DEFAULT_RECURRENT_ACTIVATION, 'sigmoid');
  const checkbox = (id: string) => new RegExp(`<input id="${id}"[^>]*>`).exec(html)?.[0] ?? '';
  t.equal(checkbox('unitForgetBias').includes(' checked'), DEFAULT_UNIT_FORGET_BIAS, 'unitForgetBias: the default');
  t.equal(checkbox('resetAfter').includes(' checked'), DEFAULT_RESET_AFTER, 'resetAfter: the default');
  t.notMatch(html, /data-default|<!-- (cell|recurrent-activation)-options -->/, 'the cell placeholders are filled in');
  for (const id of ['recurrentActivation', 'unitForgetBias', 'resetAfter'])
    t.match(
      html,
      `<div class="field${id === 'recurrentActivation' ? '' : ' checks'}" id="${id}-field" hidden>`,
      `${id} starts hidden`,
    );

  // Every form control has a label (for= or wrapping), every id is unique.
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  t.same(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
    'ids are unique',
  );
  const labelled = new Set([...html.matchAll(/<label for="([^"]+)"/g)].map((m) => m[1]));
  for (const control of html.matchAll(/<(input|select|textarea)\b[^>]*>/g)) {
    const id = /\sid="([^"]+)"/.exec(control[0])?.[1];
    const wrapped = html.slice(Math.max(0, control.index - 40), control.index).includes('<label>');
    t.ok(wrapped || (id !== undefined && labelled.has(id)), `labelled: ${control[0]}`);
  }
  t.match(html, /<div id="error" role="alert"/, 'errors go to a role="alert" element');

  const head = await app.inject({ method: 'HEAD', url: '/' });
  t.equal(head.statusCode, 200);
  t.equal(head.body, '');
});

t.test('every asset the page and its scripts reference is served with its type; nothing else is', async (t) => {
  const { app } = await build(t);
  const html = (await app.inject({ method: 'GET', url: '/' })).body;
  const referenced = [...html.matchAll(/(?:src|href)="(\/[^"]*)"/g)].map((m) => m[1]).filter((url) => url !== '/docs');
  t.same([...referenced].sort(), [
    '/playground/favicon.svg',
    '/playground/playground.css',
    '/playground/playground.js',
    '/playground/stream.js',
  ]);
  // The scripts are ES modules: follow their imports (relative, so under /playground/ too).
  const scripts = referenced.filter((url) => url.endsWith('.js'));
  for (let i = 0; i < scripts.length; i++) {
    const body = (await app.inject({ method: 'GET', url: scripts[i] })).body;
    for (const [, name] of body.matchAll(/^import [^;]+ from '\.\/([^']+)';$/gm)) {
      const url = `/playground/${name}`;
      if (!scripts.includes(url)) scripts.push(url);
    }
  }
  t.same([...scripts].sort(), [
    '/playground/curl.js',
    '/playground/draw.js',
    '/playground/playground.js',
    '/playground/stream-session.js',
    '/playground/stream.js',
  ]);
  const assets = [...new Set([...referenced, ...scripts])].sort();
  t.same(
    assets.map((url) => url.replace('/playground/', '')),
    [...PLAYGROUND_ASSETS].sort(),
    'every file served is used',
  );
  const types: Record<string, string> = {
    '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
  };
  for (const url of assets) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.equal(res.headers['content-type'], types[/\.[a-z]+$/.exec(url)![0]], `${url} content-type`);
    t.equal(res.headers['cache-control'], 'no-cache');
    t.equal(res.body, await readFile(new URL(url.replace('/playground/', ''), PUBLIC), 'utf8'), `${url} is the file`);
  }
  for (const url of scripts) {
    const script = (await app.inject({ method: 'GET', url })).body;
    t.notMatch(script, /\bconsole\./, `${url} does not log`);
    t.notMatch(script, /https?:\/\//, `${url} talks to its own origin only`);
  }

  for (const url of [
    '/playground/nope.js',
    '/playground/index.html',
    '/playground/..%2F..%2Fpackage.json',
    '/playground/%2e%2e%2Froutes%2Fplayground.ts',
  ]) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json(), { status: 404, title: 'Not found', detail: /^there is no route GET \/playground\// });
  }
  for (const url of ['/', '/playground/playground.js']) {
    const post = await app.inject({ method: 'POST', url, payload: {} });
    t.equal(post.statusCode, 405, `POST ${url}`);
    t.match(post.headers['content-type'], /^application\/problem\+json/);
    t.equal(post.headers.allow, 'GET, HEAD');
  }
});

t.test('the files are found from source and from dist/ (both resolve to the folder under <root>/src/)', async (t) => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dirs = PUBLIC_DIR_CANDIDATES.map((u) => fileURLToPath(u));
  t.equal(dirs[0], fileURLToPath(PUBLIC), 'from source: next to the route module');
  // From the compiled module the same relative URLs are taken against its place under dist/.
  const compiled = new URL('../../dist/src/http/routes/playground/playground-route.js', import.meta.url);
  const fromDist = `${root}src/http/routes/playground/public/`;
  t.equal(
    fileURLToPath(new URL('../../../../../src/http/routes/playground/public/', compiled)),
    fromDist,
    'from dist: under <root>/src/',
  );
  const { page, assets } = loadPlayground(PUBLIC);
  t.ok(page.body.length > 1000);
  t.same([...assets.keys()].sort(), [...PLAYGROUND_ASSETS].sort());
  t.throws(() => loadPlayground(new URL('file:///nonexistent/')), /ENOENT/);
});

t.test('the OpenAPI document describes the page', async (t) => {
  const { app } = await build(t);
  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const page = spec.paths['/']?.get;
  t.same(page?.tags, ['playground']);
  t.type(page?.summary, 'string');
  t.ok(page?.responses?.['200']?.content?.['text/html'], '200 text/html');
  for (const [name, type] of [
    ['playground.js', 'text/javascript'],
    ['playground.css', 'text/css'],
    ['favicon.svg', 'image/svg+xml'],
  ]) {
    const asset = spec.paths[`/playground/${name}`]?.get;
    t.same(asset?.tags, ['playground'], name);
    t.ok(asset?.responses?.['200']?.content?.[type], `${name}: 200 ${type}`);
  }
  t.ok(
    spec.tags.some((tag: { name: string }) => tag.name === 'playground'),
    'the playground tag is declared',
  );
});
