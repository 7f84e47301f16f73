// The playground page: builds a POST /rnn/forward request from the form, sends it to this origin and draws
// the answer as heatmap tables (one row per time step, one column per token or unit). Numbers are printed
// exactly as the JSON carried them, so they can be compared digit for digit with the API. The "Type to stream"
// panel is stream.js; both draw with draw.js.

import { curlCommand } from './curl.js';
import { clearProblem, copyText, el, heatmap, postJson, showProblem, units } from './draw.js';

const $ = (id) => document.getElementById(id);
const form = $('forward-form');

const PRESETS = {
  cell: { texts: 'h', vocabulary: 'helo' },
  hello: { texts: 'hello', vocabulary: '' },
  batch: { texts: 'hello, eolll, lleel', vocabulary: '' },
};

class LocalProblem extends Error {
  constructor(problem) {
    super(problem.detail);
    this.problem = problem;
  }
}

const splitTexts = (value) => value.split(/[\s,]+/).filter((word) => word !== '');
const mode = () => form.elements.mode.value;

/** A whole number from a number field, or undefined when it is empty (the server then names what is missing). */
function integerField(id) {
  const raw = $(id).value.trim();
  return raw === '' ? undefined : Number(raw);
}

/** The choice the page was served with: the server marks each option's default as `selected` or `checked`. */
const isDefault = (control) =>
  control.type === 'checkbox'
    ? control.checked === control.defaultChecked
    : control.selectedOptions[0]?.defaultSelected;

function resetToDefault(control) {
  if (control.type === 'checkbox') control.checked = control.defaultChecked;
  else control.value = [...control.options].find((option) => option.defaultSelected)?.value ?? control.value;
}

/** The options of each cell, by the id of their field (and control): only these are sent with that cell. */
const CELL_OPTIONS = {
  simpleRNN: [],
  lstm: ['recurrentActivation', 'unitForgetBias'],
  gru: ['recurrentActivation', 'resetAfter'],
};
const ALL_CELL_OPTIONS = ['recurrentActivation', 'unitForgetBias', 'resetAfter'];

/**
 * The cell and its options that differ from their defaults. A SimpleRNN adds nothing, so its request is
 * the same as before cells existed (and the server refuses another cell's options on it).
 */
function cellFields() {
  const fields = {};
  const cell = $('cell');
  if (isDefault(cell)) return fields;
  fields.cell = cell.value;
  for (const id of CELL_OPTIONS[cell.value] ?? []) {
    const control = $(id);
    if (!isDefault(control)) fields[id] = control.type === 'checkbox' ? control.checked : control.value;
  }
  return fields;
}

/** The request body the form describes; only non-default options are sent, so it reads like the API examples. */
function buildRequest() {
  const body = {};
  if (mode() === 'text') {
    body.text = splitTexts($('texts').value);
    const vocabulary = $('vocabulary').value;
    if (vocabulary !== '') body.vocabulary = vocabulary;
  } else {
    try {
      body.inputs = JSON.parse($('inputs').value);
    } catch (error) {
      throw new LocalProblem({
        title: 'Inputs are not valid JSON',
        detail: `inputs: ${error.message}`,
        errors: [{ path: 'inputs', message: `is not valid JSON (${error.message}); expected [batch][time][features]` }],
      });
    }
  }
  const layer = {};
  const hiddenSize = integerField('hiddenSize');
  if (hiddenSize !== undefined) layer.hiddenSize = hiddenSize;
  if ($('activation').value !== 'tanh') layer.activation = $('activation').value;
  if (!$('useBias').checked) layer.useBias = false;
  if ($('goBackwards').checked) layer.goBackwards = true;
  Object.assign(layer, cellFields());
  const layers = integerField('layers') ?? 1;
  if (layers === 1) Object.assign(body, layer);
  else body.layers = Array.from({ length: Math.max(0, Math.min(layers, 64)) || 0 }, () => ({ ...layer }));
  const bidirectional = $('bidirectional').value;
  if (bidirectional !== 'off') body.bidirectional = { mergeMode: bidirectional === 'none' ? null : bidirectional };
  const seed = integerField('seed');
  if (seed !== undefined) body.seed = seed;
  if (!$('returnSequences').checked) body.returnSequences = false;
  return body;
}

function updateCurl() {
  let text;
  try {
    text = curlCommand(location.origin, '/rnn/forward', buildRequest());
  } catch (error) {
    if (!(error instanceof LocalProblem)) throw error;
    text = `# ${error.problem.detail}`;
  }
  $('curl-command').textContent = text;
}

// ---- drawing

const quoted = (tokens) => `“${tokens.join('')}”`;
const PAD = '·';

/** Steps `[time]` of sequence b: its tokens (text) or null (numbers), padded to `time` for a ragged batch. */
function stepTokens(request, b, time) {
  const tokens = request.text ? Array.from(request.text[b]) : null;
  return Array.from({ length: time }, (_, t) => (tokens === null ? '' : t < tokens.length ? tokens[t] : PAD));
}

function inputRows(request, answer, b) {
  const [, time, features] = answer.shapes.inputs;
  const tokens = stepTokens(request, b, time);
  return tokens.map((token, t) => {
    let values;
    if (request.text) values = answer.vocabulary.map((v) => (v === token ? 1 : 0));
    else values = Array.from({ length: features }, (_, f) => request.inputs[b][t]?.[f] ?? 0);
    return { label: `t${t}${token === '' ? '' : ` ${token}`}`, values };
  });
}

/** Output rows in the order the API returns them: processing order, which `goBackwards` reverses. */
function outputRows(request, answer, b, outputs) {
  const time = answer.shapes.inputs[1];
  if (!Array.isArray(outputs[0])) return [{ label: 'last', values: outputs }];
  const tokens = stepTokens(request, b, time);
  const reversed = answer.model.bidirectional === null && answer.model.layers.some((layer) => layer.goBackwards);
  return outputs.map((values, t) => {
    const token = tokens[reversed ? time - 1 - t : t];
    return { label: `t${t}${token === '' ? '' : ` ${token}`}`, values };
  });
}

function stateLabels(model, count) {
  if (count === 1) return ['state'];
  const directions = model.bidirectional === null ? 1 : 2;
  return Array.from({ length: count }, (_, i) => {
    const direction = directions === 1 ? '' : i % directions === 0 ? ' forward' : ' backward';
    return `layer ${Math.floor(i / directions)}${direction}`;
  });
}

/** `states` or `cellStates` as a list of `[batch, units]` matrices, whichever structure the answer used. */
function stateMatrices(values, shape) {
  if (values === undefined) return [];
  return shape.length > 0 && Array.isArray(shape[0]) ? values : [values];
}

/** The row labels of `cellStates`: those of the states whose layer is an LSTM (a mixed stack skips the rest). */
function cellStateLabels(model, labels) {
  const directions = model.bidirectional === null ? 1 : 2;
  return labels.filter((_, i) => model.layers[Math.floor(i / directions)]?.cell === 'lstm');
}

const CELL_TEXT = { lstm: 'LSTM', gru: 'GRU' };

/** One layer for the model line: `2 tanh` for a SimpleRNN, `2 LSTM (tanh, gates sigmoid)` for a gated cell. */
function describeLayer(layer) {
  const text = CELL_TEXT[layer.cell];
  if (text === undefined) return `${layer.hiddenSize} ${layer.activation}`;
  const extras = [`gates ${layer.recurrentActivation}`];
  if (layer.unitForgetBias === false) extras.push('no unit forget bias');
  if (layer.resetAfter === false) extras.push('reset before');
  return `${layer.hiddenSize} ${text} (${layer.activation}, ${extras.join(', ')})`;
}

function render(request, answer) {
  const { model, shapes } = answer;
  const batch = shapes.inputs[0];
  const features = shapes.inputs[2];
  const mergeMode = model.bidirectional?.mergeMode;
  const split = model.bidirectional !== null && mergeMode === null;
  const outputWidth = mergeMode === 'concat' ? 2 * model.hiddenSize : model.hiddenSize;
  const outputColumns =
    mergeMode === 'concat'
      ? [...units(model.hiddenSize, 'fwd '), ...units(model.hiddenSize, 'bwd ')]
      : units(outputWidth);
  const stateList = stateMatrices(answer.states, shapes.states);
  const labels = stateLabels(model, stateList.length);
  const cellStateList = stateMatrices(answer.cellStates, shapes.cellStates);
  const cellLabels = cellStateLabels(model, labels);
  const withCellStates = cellStateList.length > 0;

  const dl = $('shapes');
  dl.replaceChildren();
  const describe = (term, value) => dl.append(el('dt', {}, term), el('dd', {}, value));
  describe('inputs', JSON.stringify(shapes.inputs));
  describe('outputs', JSON.stringify(shapes.outputs));
  if (shapes.states !== undefined) describe('states', JSON.stringify(shapes.states));
  if (shapes.cellStates !== undefined) describe('cellStates', JSON.stringify(shapes.cellStates));
  if (answer.vocabulary) describe('vocabulary', answer.vocabulary.join(' '));
  const layerText = `${model.layers.length} layer${model.layers.length === 1 ? '' : 's'}, ${model.layers.map(describeLayer).join(' → ')}`;
  describe(
    'model',
    `${layerText}${model.bidirectional === null ? '' : `, bidirectional (${mergeMode ?? 'null'})`}, seed ${model.seed}`,
  );

  const sections = [];
  for (let b = 0; b < batch; b++) {
    const name = request.text ? quoted(Array.from(request.text[b])) : `inputs[${b}]`;
    const context = `Sequence ${b} ${name}`;
    const tables = [
      heatmap({
        context,
        caption: `inputs${request.text ? ' (one-hot)' : ''}`,
        corner: 'step',
        columns: answer.vocabulary ?? Array.from({ length: features }, (_, f) => `x${f}`),
        rows: inputRows(request, answer, b),
        data: { kind: 'inputs', sequence: b },
      }),
    ];
    const directions = split
      ? [
          ['forward', answer.outputs[0][b]],
          ['backward', answer.outputs[1][b]],
        ]
      : [[null, answer.outputs[b]]];
    for (const [direction, outputs] of directions) {
      tables.push(
        heatmap({
          context,
          caption: `outputs${direction === null ? '' : `, ${direction} direction`}`,
          corner: 'step',
          columns: outputColumns,
          rows: outputRows(request, answer, b, outputs),
          data: { kind: 'outputs', sequence: b, ...(direction === null ? {} : { direction }) },
        }),
      );
    }
    const finalStates = [];
    if (stateList.length > 0) {
      const width = Math.max(...stateList.map((state) => state[b].length));
      finalStates.push(
        heatmap({
          context,
          caption: withCellStates ? 'final h (hidden state)' : 'final states',
          corner: 'state',
          columns: units(width),
          rows: stateList.map((state, i) => ({ label: labels[i], values: state[b] })),
          data: { kind: 'states', sequence: b },
        }),
      );
    }
    // An LSTM's c, beside its h: the answer has it for the last step only, so there is no c per step to draw.
    if (withCellStates) {
      const width = Math.max(...cellStateList.map((state) => state[b].length));
      finalStates.push(
        heatmap({
          context,
          caption: 'final c (cell state)',
          corner: 'state',
          columns: units(width, '', 'c'),
          rows: cellStateList.map((state, i) => ({ label: cellLabels[i], values: state[b] })),
          data: { kind: 'cellStates', sequence: b },
        }),
      );
      // One flex item, so that c wraps to a new row together with h rather than apart from it.
      tables.push(
        el('div', { class: 'final-states', role: 'group', 'aria-label': `${context}: final h and c` }, ...finalStates),
      );
    } else tables.push(...finalStates);
    sections.push(
      el(
        'section',
        { class: 'sequence' },
        el('h3', {}, `Sequence ${b}: ${name}`),
        el('div', { class: 'tables' }, ...tables),
      ),
    );
  }
  $('sequences').replaceChildren(...sections);
  $('cell-state-note').hidden = !withCellStates;
  $('results-empty').hidden = true;
  $('results-body').hidden = false;
}

const showError = (problem) => showProblem($('error'), problem);
const clearError = () => clearProblem($('error'));

// ---- running

let latest = 0;

async function run() {
  const ticket = ++latest;
  updateCurl();
  let request;
  try {
    request = buildRequest();
  } catch (error) {
    if (!(error instanceof LocalProblem)) throw error;
    showError(error.problem);
    $('status').textContent = 'Not sent: fix the inputs.';
    return;
  }
  $('status').textContent = 'Running…';
  $('results').setAttribute('aria-busy', 'true');
  const { answer, problem } = await postJson('/rnn/forward', request);
  if (ticket !== latest) return; // a newer run has started; its answer is the one to show
  $('results').removeAttribute('aria-busy');
  if (problem !== undefined) {
    showError(problem);
    $('results-body').hidden = true;
    $('results-empty').hidden = false;
    $('results-empty').textContent = 'The last request was rejected; see the error above.';
    $('status').textContent = `Failed: ${problem.title ?? 'error'}.`;
    return;
  }
  clearError();
  render(request, answer);
  $('status').textContent = `Done: outputs ${JSON.stringify(answer.shapes.outputs)}.`;
}

function applyPreset(name) {
  const preset = PRESETS[name];
  form.elements.mode.value = 'text';
  showMode();
  $('texts').value = preset.texts;
  $('vocabulary').value = preset.vocabulary;
  $('hiddenSize').value = '2';
  $('seed').value = '42';
  $('activation').value = 'tanh';
  $('layers').value = '1';
  $('bidirectional').value = 'off';
  $('returnSequences').checked = true;
  $('goBackwards').checked = false;
  $('useBias').checked = true;
  for (const id of ['cell', ...ALL_CELL_OPTIONS]) resetToDefault($(id));
  showCellOptions();
  run();
}

/** Shows the options of the chosen cell only; hidden ones are not sent either (see cellFields). */
function showCellOptions() {
  const shown = CELL_OPTIONS[$('cell').value] ?? [];
  for (const id of ALL_CELL_OPTIONS) $(`${id}-field`).hidden = !shown.includes(id);
}

function showMode() {
  const text = mode() === 'text';
  $('text-fields').hidden = !text;
  $('number-fields').hidden = text;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  run();
});
form.addEventListener('input', updateCurl);
form.addEventListener('change', (event) => {
  if (event.target.name === 'mode') showMode();
  if (event.target.id === 'cell') showCellOptions();
  updateCurl();
});
$('inputs').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    form.requestSubmit();
  }
});
for (const button of document.querySelectorAll('[data-preset]'))
  button.addEventListener('click', () => applyPreset(button.dataset.preset));
$('copy-curl').addEventListener('click', () => copyText($('curl-command'), $('copy-status')));

showMode();
showCellOptions();
run();
