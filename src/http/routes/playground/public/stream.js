// The "Type to stream" panel: every character typed into its text box is one step of a stateful sequence on the
// served model next-char (stream-session.js plans and queues the chunks); the panel draws h after every key as a
// heatmap row, the most likely next characters as bars, the pending keys, and the curl command of the last request.

import { curlCommand } from './curl.js';
import { clearProblem, copyText, el, heatmap, postJson, showProblem, units } from './draw.js';
import { keepVocabulary, StreamSession, streamVocabulary } from './stream-session.js';

const MODEL = 'next-char';
const FORWARD = `/models/${MODEL}/forward`;

const $ = (id) => document.getElementById(id);
const box = $('stream-text');

/** A new sequence id: random, so that two tabs (or two people) never share a sequence. */
function newSequenceId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `playground-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const quoted = (text) => `“${text}”`;

function showUnavailable(text) {
  $('stream-availability').textContent = text;
  $('stream-availability').hidden = false;
  $('stream-panel').hidden = true;
}

/** The model's metadata: GET /models first, so that a model not served is no 404 (which Chromium logs). */
async function loadModel() {
  const get = async (path) => {
    const response = await fetch(path, { headers: { accept: 'application/json, application/problem+json' } });
    return { ok: response.ok, json: await response.json() };
  };
  try {
    const list = await get('/models');
    if (!list.ok) return { problem: `GET /models answered ${list.json.status}: ${list.json.detail}` };
    if (!list.json.models.some((model) => model.name === MODEL))
      return {
        problem: `The model ${MODEL} is not served here: serve a model repository that holds it (MODELS_DIR; the repository's models/ does).`,
      };
    const metadata = await get(`/models/${MODEL}`);
    if (!metadata.ok)
      return { problem: `GET /models/${MODEL} answered ${metadata.json.status}: ${metadata.json.detail}` };
    const vocabulary = streamVocabulary(metadata.json);
    return vocabulary.problem === undefined ? { vocabulary, metadata: metadata.json } : vocabulary;
  } catch (error) {
    return { problem: `The model's metadata could not be read: ${error.message ?? error}` };
  }
}

function describeModel(metadata, vocabulary) {
  const ids = vocabulary.characters.map((c) => `${c}→${vocabulary.ids.get(c)}`).join(' ');
  const layers = metadata.model?.layers ?? [];
  const cells = layers.map((layer) => `${layer.hiddenSize} ${layer.cell ?? 'SimpleRNN'}`).join(' → ');
  $('stream-model').replaceChildren(
    el('code', {}, `${MODEL}`),
    ` version ${metadata.version}: ${cells} units, ${vocabulary.characters.length} classes. `,
    `Characters and the token ids sent: ${ids} (0 is padding). Each answer asks for the top ${vocabulary.topK}.`,
  );
  $('stream-text-hint').textContent =
    `One step per character: ${vocabulary.characters.join(', ')}. Backspace or any other edit restarts the ` +
    'sequence and replays the text kept as one chunk.';
}

// ---- drawing

function pendingItem(op, current) {
  const what = op.kind === 'step' ? op.chunk : op.kind === 'restart' ? `restart ${quoted(op.chunk)}` : 'end';
  const whose = current ? '' : ' (previous sequence)';
  return el('li', { 'data-kind': op.kind, 'data-state': op.state }, `${what}${whose}`);
}

/** The top classes of the last step as bars: the label, a bar as long as the score, the score as the API sent it. */
function bars(classes) {
  return classes.map(({ label, score }) => {
    const fill = el('span', { class: 'bar-fill' });
    fill.style.width = `${Math.max(0, Math.min(1, score)) * 100}%`;
    return el(
      'li',
      { 'data-label': label },
      el('span', { class: 'bar-label' }, label),
      el('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
      el('span', { class: 'bar-score' }, String(score)),
    );
  });
}

/** The most likely next character after each step: one row per key, the newest last. */
function trail(steps) {
  const rows = steps.map((step, t) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, `t${t} ${step.character}`),
      el('td', {}, step.classes[0].label),
      el('td', {}, String(step.classes[0].score)),
    ),
  );
  return el(
    'div',
    { class: 'scroll', role: 'region', tabindex: '0', 'aria-label': 'Most likely next character after each key' },
    el(
      'table',
      { class: 'heatmap trail', 'data-kind': 'stream-next' },
      el('caption', {}, 'Most likely next, key by key'),
      el('thead', {}, el('tr', {}, ...['step', 'next', 'score'].map((name) => el('th', { scope: 'col' }, name)))),
      el('tbody', {}, ...rows),
    ),
  );
}

function stateTables(steps) {
  const context = 'Type to stream';
  const rows = (field) => steps.map((step, t) => ({ label: `t${t} ${step.character}`, values: step[field] }));
  const tables = [
    heatmap({
      context,
      caption: 'h (hidden state) after each key',
      corner: 'step',
      columns: units(steps[0].h.length),
      rows: rows('h'),
      data: { kind: 'stream-states' },
    }),
  ];
  if (steps[0].c !== null)
    tables.push(
      heatmap({
        context,
        caption: 'c (cell state) after each key',
        corner: 'step',
        columns: units(steps[0].c.length, '', 'c'),
        rows: rows('c'),
        data: { kind: 'stream-cell-states' },
      }),
    );
  return tables;
}

function render(session) {
  const { steps, queue } = session;
  const answered = session.answered;
  $('stream-sequence-id').textContent = session.sequenceId;
  $('stream-steps').textContent = String(steps.length);
  $('stream-pending').replaceChildren(...queue.map((op) => pendingItem(op, op.generation === session.generation)));
  $('stream-pending-none').hidden = queue.length > 0;
  if (session.pending.length > 0) $('stream-results').setAttribute('aria-busy', 'true');
  else $('stream-results').removeAttribute('aria-busy');

  const last = steps.at(-1);
  $('stream-empty').hidden = last !== undefined;
  $('stream-drawn').hidden = last === undefined;
  if (last !== undefined) {
    $('stream-next-caption').textContent = `After ${quoted(answered)}:`;
    $('stream-top').replaceChildren(...bars(last.classes));
    $('stream-trail').replaceChildren(trail(steps));
    $('stream-states').replaceChildren(...stateTables(steps));
  }
  if (session.lastBody !== null)
    $('stream-curl-command').textContent = curlCommand(location.origin, FORWARD, session.lastBody);

  if (session.failure !== null) showProblem($('stream-error'), session.failure.problem);
  else clearProblem($('stream-error'));
  $('stream-resend').hidden = session.failure === null;
  $('stream-note').hidden = session.note === null;
  if (session.note !== null)
    $('stream-note').textContent =
      `Ending the previous sequence ${session.note.sequenceId} was refused (${session.note.problem.detail ?? session.note.problem.title}); ` +
      'the server drops it after SEQUENCE_IDLE_MS without a request.';

  const pending = session.pending.length;
  $('stream-status').textContent =
    session.failure !== null
      ? `Failed: ${session.failure.problem.title ?? 'error'}. Type a key or press Resend to send the text again.`
      : pending > 0
        ? `Sending: ${pending} pending.`
        : last !== undefined
          ? `After ${quoted(answered)}: most likely next ${quoted(last.classes[0].label)} (${last.classes[0].score}).`
          : 'Ready: type to start a sequence.';
}

// ---- typing

function refuse(characters, vocabulary) {
  const list = characters.map(quoted).join(', ');
  $('stream-refused').textContent =
    `Not sent: ${list} ${characters.length === 1 ? 'is' : 'are'} not among ${MODEL}'s characters ` +
    `(${vocabulary.characters.join(', ')}).`;
  $('stream-refused').hidden = false;
}

/** Keeps the box to the vocabulary (the caret where it was), and hands the session what the box now reads. */
function onInput(session) {
  const { value, selectionStart } = box;
  const { kept, refused } = keepVocabulary(value, session.vocabulary.ids);
  if (refused.length > 0) {
    const before = keepVocabulary(value.slice(0, selectionStart ?? value.length), session.vocabulary.ids).kept;
    box.value = kept;
    box.setSelectionRange(before.length, before.length);
    refuse(refused, session.vocabulary);
  } else $('stream-refused').hidden = true;
  session.edit(kept);
}

async function start() {
  const loaded = await loadModel();
  if (loaded.problem !== undefined) {
    showUnavailable(loaded.problem);
    return;
  }
  const { vocabulary, metadata } = loaded;
  describeModel(metadata, vocabulary);
  const session = new StreamSession({
    vocabulary,
    newSequenceId,
    send: (body) => postJson(FORWARD, body),
    onChange: () => render(session),
  });
  box.value = '';
  box.addEventListener('input', (event) => {
    if (!event.isComposing) onInput(session);
  });
  box.addEventListener('compositionend', () => onInput(session));
  $('stream-reset').addEventListener('click', () => {
    box.value = '';
    $('stream-refused').hidden = true;
    session.reset();
    box.focus();
  });
  $('stream-resend').addEventListener('click', () => {
    session.resend(box.value);
    box.focus();
  });
  $('stream-copy-curl').addEventListener('click', () => copyText($('stream-curl-command'), $('stream-copy-status')));
  $('stream-availability').hidden = true;
  $('stream-panel').hidden = false;
  box.disabled = false;
  render(session);
}

start();
