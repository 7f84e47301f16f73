// What the playground's panels draw alike: elements, heatmap tables (one row per step, one column per token or
// unit, a diverging colour scale) and a problem+json answer as an alert. Numbers are printed exactly as the JSON
// carried them, so they can be compared digit for digit with the API.

/** Diverging scale for [-1, 1]: blue (negative), white (0), red (positive). */
const NEGATIVE = [33, 102, 172];
const POSITIVE = [178, 24, 43];

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const linear = (c) => {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
};
const luminance = ([r, g, b]) => 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);

/** The cell's background for `value`, and the text colour (black or white) that contrasts more with it. */
function cellColours(value) {
  const clamped = Math.max(-1, Math.min(1, value));
  const end = clamped < 0 ? NEGATIVE : POSITIVE;
  const k = Math.abs(clamped);
  const rgb = end.map((c) => Math.round(255 + (c - 255) * k));
  const l = luminance(rgb);
  const dark = (l + 0.05) / 0.05 >= 1.05 / (l + 0.05);
  return { background: `rgb(${rgb.join(', ')})`, text: dark ? '#111' : '#fff' };
}

/**
 * One heatmap: a table with a caption, a header row of `columns`, and one row per entry of `rows`
 * (`{label, values}`); each cell shows the JSON number as sent. Wrapped in a region that scrolls sideways.
 */
export function heatmap({ context, caption, columns, rows, corner, data }) {
  const head = el('tr', {}, el('th', { scope: 'col' }, corner), ...columns.map((c) => el('th', { scope: 'col' }, c)));
  const body = rows.map(({ label, values }) =>
    el(
      'tr',
      {},
      el('th', { scope: 'row' }, label),
      ...values.map((value) => {
        const cell = el('td', {}, typeof value === 'number' ? String(value) : '');
        if (typeof value === 'number') {
          const { background, text } = cellColours(value);
          cell.style.backgroundColor = background;
          cell.style.color = text;
        }
        return cell;
      }),
    ),
  );
  const table = el(
    'table',
    { class: 'heatmap' },
    el('caption', {}, el('span', { class: 'visually-hidden' }, `${context}: `), caption),
    el('thead', {}, head),
    el('tbody', {}, ...body),
  );
  for (const [key, value] of Object.entries(data)) table.dataset[key] = String(value);
  return el('div', { class: 'scroll', role: 'region', tabindex: '0', 'aria-label': `${context}: ${caption}` }, table);
}

/** Column names of `n` units: h0, h1, … (or with a prefix: `fwd h0`, or another symbol: c0). */
export const units = (n, prefix = '', symbol = 'h') => Array.from({ length: n }, (_, i) => `${prefix}${symbol}${i}`);

/** Fills `box` (a role="alert" element) with a problem's title, status, detail and each `path: message`. */
export function showProblem(box, problem) {
  const items = Array.isArray(problem.errors) ? problem.errors : [];
  const list = el('ul', {}, ...items.map((e) => el('li', {}, el('code', {}, String(e.path)), `: ${e.message}`)));
  const heading = el('p', { class: 'error-title' }, el('strong', {}, String(problem.title ?? 'Error')));
  if (problem.status !== undefined) heading.append(` (${problem.status})`);
  box.replaceChildren(
    heading,
    el('p', { class: 'error-detail' }, String(problem.detail ?? '')),
    ...(items.length > 0 ? [list] : []),
  );
  box.hidden = false;
}

export function clearProblem(box) {
  box.hidden = true;
  box.replaceChildren();
}

/**
 * POSTs `body` as JSON to `path` on this origin: `{answer}` for a 2xx JSON answer, else `{problem}` (the server's
 * problem+json, or one describing what came back or why nothing did).
 */
export async function postJson(path, body) {
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    if (response.ok && json !== null) return { answer: json };
    if (json !== null && typeof json === 'object') return { problem: json };
    return { problem: { title: `HTTP ${response.status}`, status: response.status, detail: text.slice(0, 500) } };
  } catch (error) {
    return { problem: { title: 'The server could not be reached', detail: String(error.message ?? error) } };
  }
}

/** Copies the text of `code` to the clipboard, or selects it for Ctrl+C where the clipboard is not allowed. */
export async function copyText(code, status) {
  try {
    await navigator.clipboard.writeText(code.textContent);
    status.textContent = 'Copied.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(code);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    status.textContent = 'Selected: press Ctrl+C to copy.';
  }
}
