/**
 * The playground's "Type to stream" panel in a real browser (Debian's Chromium through playwright-core), on the
 * shipped next-char model: "hell" typed key by key sends one token id per request as chunks of one sequence
 * (sequenceStart on the first only); after every key the drawn next characters and scores, and h, are the API's
 * answer for the whole prefix sent without a sequence, digit for digit. A key outside the vocabulary is refused on
 * the page; Backspace restarts the sequence replaying the rest as one chunk; Reset ends it (sequenceEnd) and the next
 * key starts a new id; a burst of keys typed while an answer is held is queued, shown pending, and sent in order; a
 * chunk the server refuses is shown as the problem, and Resend starts the sequence again with what was answered.
 * Keyboard only, no console message or CSP violation, and it fits a 360px-wide screen.
 *
 * Needs /usr/bin/chromium (see test/helpers/chromium.ts; RNN_SERVE_SKIP_BROWSER=1 skips it).
 */
import type { AddressInfo } from 'node:net';
import type { Page, Route } from 'playwright-core';
import t, { type Test } from 'tap';
import { build, SHIPPED_MODELS } from '../helpers/build.js';
import { browserSkip, openChromium } from '../helpers/chromium.js';

type Json = Record<string, any>;

// Callbacks given to waitForFunction / $$eval run in Chromium (tsconfig has no DOM lib).
declare const document: any;

const IDS: Record<string, number> = { h: 1, e: 2, l: 3, o: 4 };
const PATH = '/models/next-char/forward';

/** What the panel draws: the top list (label, score), the h rows, the trail, the sequence and the pending requests. */
async function drawn(page: Page) {
  return page.evaluate(() => {
    const text = (el: any) => el?.textContent ?? '';
    const rows = (selector: string) =>
      [...document.querySelectorAll(`${selector} tbody tr`)].map((tr: any) => [...tr.children].map(text));
    return {
      top: [...document.querySelectorAll('#stream-top li')].map((li: any) => [
        text(li.querySelector('.bar-label')),
        text(li.querySelector('.bar-score')),
      ]),
      caption: text(document.getElementById('stream-next-caption')),
      h: rows('table[data-kind="stream-states"]'),
      trail: rows('table[data-kind="stream-next"]'),
      sequenceId: text(document.getElementById('stream-sequence-id')),
      steps: text(document.getElementById('stream-steps')),
      pending: [...document.querySelectorAll('#stream-pending li')].map((li: any) => [
        text(li),
        li.dataset.state,
        li.dataset.kind,
      ]),
      status: text(document.getElementById('stream-status')),
      box: document.getElementById('stream-text').value,
    };
  });
}

/** Waits until `n` steps are drawn and nothing is pending. */
async function settled(page: Page, n: number) {
  await page.waitForFunction(
    (want) =>
      document.getElementById('stream-steps').textContent === String(want) &&
      !document.getElementById('stream-pending-none').hidden,
    n,
  );
}

t.test('Type to stream in Chromium', { skip: browserSkip, timeout: 120_000 }, async (t) => {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const api = async (body: object): Promise<{ status: number; json: Json }> => {
    const res = await fetch(`${origin}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  /** The whole prefix, without a sequence: what the panel must show after its last key. */
  const whole = async (prefix: string) => {
    const answer = await api({ inputs: [[...prefix].map((c) => [IDS[c]])], topK: 4 });
    t.equal(answer.status, 200, `POST ${PATH} "${prefix}"`);
    return answer.json;
  };
  const printed = (xs: number[]) => xs.map((x) => JSON.stringify(x));
  const browsing = await openChromium(t, origin);
  if (browsing === null) return;
  const { page, errors, foreign } = browsing;
  /** The panel shows the API's answer for `text`, digit for digit: top list, and h and the trail for every prefix. */
  const showsWhole = async (t: Test, text: string) => {
    const shown = await drawn(page);
    const last = await whole(text);
    t.same(
      shown.top,
      last.classes[0].map((c: Json) => [c.label, JSON.stringify(c.score)]),
      `after "${text}": the next characters and their scores`,
    );
    t.equal(shown.caption, `After “${text}”:`);
    for (let n = 1; n <= text.length; n++) {
      const prefix = await whole(text.slice(0, n));
      const label = `t${n - 1} ${text[n - 1]}`;
      t.same(shown.h[n - 1], [label, ...printed(prefix.states[0])], `h after "${text.slice(0, n)}"`);
      const top = prefix.classes[0][0];
      t.same(shown.trail[n - 1], [label, top.label, JSON.stringify(top.score)], `top-1 after "${text.slice(0, n)}"`);
    }
    t.equal(shown.h.length, text.length, 'one h row per key');
  };

  const sent: { raw: string; body: Json }[] = [];
  page.on('request', (request) => {
    if (request.url() === `${origin}${PATH}` && request.method() === 'POST') {
      const raw = request.postData() ?? '';
      sent.push({ raw, body: JSON.parse(raw) });
    }
  });

  await page.goto(`${origin}/`);
  await page.waitForSelector('#stream-text:not([disabled])');
  t.match(await page.textContent('#stream-model'), 'h→1 e→2 l→3 o→4 (0 is padding)');
  t.equal(await page.textContent('#stream-status'), 'Ready: type to start a sequence.');

  let firstId = '';
  await t.test('"hell" key by key: one id per request, one sequence; each key drawn as the API answers', async (t) => {
    await page.focus('#stream-text');
    for (const [i, key] of [...'hell'].entries()) {
      await page.keyboard.type(key);
      await settled(page, i + 1);
      await showsWhole(t, 'hell'.slice(0, i + 1));
    }
    const bodies = sent.map(({ body }) => body);
    firstId = bodies[0].sequenceId;
    t.match(firstId, /^playground-[0-9a-f]{16}$/, 'a random string id');
    t.same(
      bodies,
      [...'hell'].map((c, i) => ({
        inputs: [[[IDS[c]]]],
        sequenceId: firstId,
        ...(i === 0 ? { sequenceStart: true } : {}),
        topK: 4,
      })),
      'sequenceStart on the first only; no sequenceEnd',
    );
    const shown = await drawn(page);
    t.equal(shown.sequenceId, firstId);
    t.same(shown.top[0], ['o', '0.9997015'], 'after "hell", "o" (docs/models/tfjs.md)');
    t.equal(shown.status, 'After “hell”: most likely next “o” (0.9997015).');
    t.equal(
      await page.textContent('#stream-curl-command'),
      `curl -s ${origin}${PATH} -H 'content-type: application/json' -d '${sent.at(-1)!.raw}'`,
      'the curl command is the last request, as sent',
    );
  });

  await t.test('a character outside the vocabulary is refused on the page, not sent', async (t) => {
    const before = sent.length;
    await page.keyboard.type('x');
    await page.waitForSelector('#stream-refused:not([hidden])');
    t.equal(await page.inputValue('#stream-text'), 'hell', 'the box keeps the vocabulary');
    t.equal(
      await page.textContent('#stream-refused'),
      "Not sent: “x” is not among next-char's characters (h, e, l, o).",
    );
    t.equal(await page.getAttribute('#stream-refused', 'role'), 'alert');
    await page.keyboard.type('H');
    t.match(await page.textContent('#stream-refused'), '“H” is not among');
    t.equal(sent.length, before, 'nothing sent');
    t.same((await drawn(page)).h.length, 4);
  });

  await t.test('Backspace restarts the sequence and replays the rest as one chunk', async (t) => {
    const before = sent.length;
    await page.keyboard.press('Backspace');
    await settled(page, 3);
    t.same(
      sent.slice(before).map(({ body }) => body),
      [{ inputs: [[[1], [2], [3]]], sequenceId: firstId, sequenceStart: true, topK: 4 }],
    );
    t.equal(await page.isVisible('#stream-refused'), false, 'the refusal goes with the next accepted edit');
    await showsWhole(t, 'hel');
    await page.keyboard.type('l');
    await settled(page, 4);
    t.same(sent.at(-1)!.body, { inputs: [[[3]]], sequenceId: firstId, topK: 4 }, 'then on, key by key');
    await showsWhole(t, 'hell');
  });

  let secondId = '';
  await t.test('Reset, from the keyboard: sequenceEnd, then a new id with sequenceStart', async (t) => {
    const before = sent.length;
    await page.keyboard.press('Tab');
    t.equal(await page.evaluate(() => document.activeElement.id), 'stream-reset', 'Tab: the text box, then Reset');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('stream-pending-none').hidden === false);
    t.same(
      sent.slice(before).map(({ body }) => body),
      [{ inputs: [[[0]]], sequenceId: firstId, sequenceEnd: true }],
      'the padding id 0 (masked) ends the sequence',
    );
    const shown = await drawn(page);
    t.equal(shown.box, '');
    t.equal(shown.steps, '0');
    t.equal(await page.isVisible('#stream-drawn'), false, 'nothing drawn for the new sequence');
    secondId = shown.sequenceId;
    t.match(secondId, /^playground-[0-9a-f]{16}$/);
    t.not(secondId, firstId, 'a new id');
    t.equal(await page.evaluate(() => document.activeElement.id), 'stream-text', 'focus back in the box');
    const ended = await api({ inputs: [[[1]]], sequenceId: firstId });
    t.equal(ended.status, 400, 'the server no longer holds the old sequence');
    t.match(ended.json.errors[0].message, 'must specify the START flag');

    await page.keyboard.type('h');
    await settled(page, 1);
    t.same(sent.at(-1)!.body, { inputs: [[[1]]], sequenceId: secondId, sequenceStart: true, topK: 4 });
    await showsWhole(t, 'h');
  });

  await t.test('a burst of keys while an answer is held: pending shown, sent one at a time, in order', async (t) => {
    await page.click('#stream-reset');
    await page.waitForFunction(() => document.getElementById('stream-pending-none').hidden === false);
    const before = sent.length;
    // Hold every answer until released: the keys typed meanwhile wait in the page's queue.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const hold = async (route: Route) => {
      await gate;
      await route.continue();
    };
    await page.route(`${origin}${PATH}`, hold);
    await page.keyboard.type('hello');
    await page.waitForFunction(() => document.querySelectorAll('#stream-pending li').length === 5);
    const waiting = await drawn(page);
    t.same(
      waiting.pending,
      [
        ['h', 'sending', 'step'],
        ['e', 'queued', 'step'],
        ['l', 'queued', 'step'],
        ['l', 'queued', 'step'],
        ['o', 'queued', 'step'],
      ],
      'the pending keys, oldest first',
    );
    t.equal(sent.length - before, 1, 'one request in flight, the rest queued on the page');
    t.equal(waiting.status, 'Sending: 5 pending.');
    t.equal(await page.getAttribute('#stream-results', 'aria-busy'), 'true');
    release();
    await settled(page, 5);
    await page.unroute(`${origin}${PATH}`, hold);
    const bodies = sent.slice(before).map(({ body }) => body);
    const id = bodies[0].sequenceId;
    t.not(id, secondId);
    t.same(
      bodies,
      [...'hello'].map((c, i) => ({
        inputs: [[[IDS[c]]]],
        sequenceId: id,
        ...(i === 0 ? { sequenceStart: true } : {}),
        topK: 4,
      })),
      'in the order typed',
    );
    await showsWhole(t, 'hello');
    t.equal(await page.getAttribute('#stream-results', 'aria-busy'), null);
  });

  await t.test('a chunk the server refuses: the alert, then Resend starts the sequence again', async (t) => {
    // The sequence ends behind the page's back, as when it idles past SEQUENCE_IDLE_MS: the next key is refused.
    const id = (await drawn(page)).sequenceId;
    t.equal((await api({ inputs: [[[0]]], sequenceId: id, sequenceEnd: true })).status, 200);
    const before = sent.length;
    await page.keyboard.type('o');
    await page.waitForSelector('#stream-error:not([hidden])');
    t.same(
      sent.slice(before).map(({ body }) => body),
      [{ inputs: [[[4]]], sequenceId: id, topK: 4 }],
    );
    const refused = await api({ inputs: [[[4]]], sequenceId: id, topK: 4 });
    t.equal(refused.status, 400);
    const alert = (await page.textContent('#stream-error')) ?? '';
    t.match(alert, `${refused.json.title} (400)`);
    t.match(alert, `${refused.json.errors[0].path}: ${refused.json.errors[0].message}`);
    t.match((await drawn(page)).status, /^Failed: Invalid request\. Type a key or press Resend/);
    t.equal((await drawn(page)).steps, '5', 'what was answered stays drawn');
    t.equal(await page.isVisible('#stream-resend'), true);
    await page.focus('#stream-resend');
    await page.keyboard.press('Enter');
    await settled(page, 6);
    t.same(
      sent.slice(before + 1).map(({ body }) => body),
      [
        { inputs: [[[1], [2], [3], [3], [4]]], sequenceId: id, sequenceStart: true, topK: 4 },
        { inputs: [[[4]]], sequenceId: id, topK: 4 },
      ],
      'a start with what was answered as one chunk, then the key refused',
    );
    t.equal(await page.isVisible('#stream-error'), false, 'the alert goes');
    t.equal(await page.isVisible('#stream-resend'), false);
    await showsWhole(t, 'helloo');
  });

  await t.test('labelled, named regions; fits a 360px-wide screen', async (t) => {
    const unlabelled = await page.$$eval('#stream input, #stream button', (controls) =>
      controls
        .filter((c: any) => (c.labels?.length ?? 0) === 0 && (c.textContent ?? '').trim() === '')
        .map((c: any) => c.outerHTML),
    );
    t.same(unlabelled, [], 'every control has a label or text');
    const regions = await page.$$eval('#stream .scroll', (els) =>
      els.map((e: any) => [e.getAttribute('tabindex'), e.getAttribute('aria-label')]),
    );
    t.same(regions, [
      ['0', 'Most likely next character after each key'],
      ['0', 'Type to stream: h (hidden state) after each key'],
    ]);
    await page.setViewportSize({ width: 360, height: 780 });
    const widths = await page.evaluate(() => ({
      viewport: document.documentElement.clientWidth,
      document: document.documentElement.scrollWidth,
    }));
    t.ok(widths.document <= widths.viewport, `document ${widths.document}px fits in ${widths.viewport}px`);
  });

  t.same(foreign, [], 'no request leaves the page origin');
  // Chromium logs every 4xx fetch itself; the chunk refused above is the only one expected.
  const rejected = 'console.error: Failed to load resource: the server responded with a status of 400 (Bad Request)';
  t.same(
    errors.filter((m) => m !== rejected),
    [],
    'no other console message, page error, CSP violation or failed request',
  );
  t.equal(errors.filter((m) => m === rejected).length, 1, 'the refused chunk');
});
