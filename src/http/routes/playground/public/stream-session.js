// The "Type to stream" panel's logic, apart from the page (no DOM, so test/playground/stream-session.test.ts runs it
// in Node): which characters a served next-character model reads and as which token ids, what an edit of the text
// box sends as chunks of a stateful sequence (POST /models/{name}/forward with sequenceId, sequenceStart,
// sequenceEnd), and the queue that sends those chunks one at a time, in the order they were typed.
//
// One at a time, not all at once: the server runs a sequence's chunks in the order they arrive, but requests sent
// together on several connections may arrive in any order. So a chunk leaves when the previous one has answered,
// and the keys typed meanwhile wait in the queue (shown on the page as pending).

/**
 * Id 0 is padding: the model's Embedding (`mask_zero`) masks it, so a step of it leaves the state and the answer as
 * they were. Reset sends one to end a sequence, since every chunk, the last too, carries at least one step.
 */
export const PADDING_ID = 0;
/** The op that ends a sequence: one padding step with `sequenceEnd`. */
const END = Object.freeze({ kind: 'end', chunk: '', text: '', start: false, end: true });
/** At most this many next characters are asked for (`topK`), fewer when the model has fewer classes. */
export const MAX_TOP_K = 5;

/**
 * What the panel can stream to a served model, read from GET /models/{name}: the characters it reads and each one's
 * token id, the `topK` to ask for, and whether the request must ask for the last step only. The model must take one
 * token id per step and name its classes (labels.txt), one character each: its classes are the characters it reads,
 * label k being token id k + 1, id 0 the Embedding's padding (how next-char was trained:
 * scripts/make-tfjs-fixtures.ts). `{problem}` says why a model does not fit.
 */
export function streamVocabulary(metadata) {
  const name = `model "${metadata.name}"`;
  if (metadata.ready !== true) return { problem: `${name} is not ready` };
  const inputShape = metadata.inputs?.[0]?.shape ?? [];
  if (inputShape.length !== 3 || inputShape[2] !== 1)
    return { problem: `${name} takes inputs ${JSON.stringify(inputShape)}, not one token id per step ([-1, -1, 1])` };
  const labels = metadata.labels;
  if (!Array.isArray(labels) || labels.length === 0)
    return { problem: `${name} names no classes (no labels.txt), so its next characters are unknown` };
  const long = labels.find((label) => Array.from(label).length !== 1);
  if (long !== undefined) return { problem: `${name} has the label "${long}", not one character` };
  if (new Set(labels).size !== labels.length) return { problem: `${name} repeats a label` };
  const outputShape = metadata.outputs?.[0]?.shape ?? [];
  return {
    characters: [...labels],
    ids: new Map(labels.map((label, k) => [label, k + 1])),
    topK: Math.min(MAX_TOP_K, labels.length),
    // A many-to-one model answers its last step and refuses `returnSequences`; a many-to-many one is asked for it.
    lastStepOnly: outputShape.length === 3,
  };
}

/** Splits `text` into what the vocabulary has (`kept`) and the distinct characters it does not (`refused`). */
export function keepVocabulary(text, ids) {
  const characters = Array.from(text);
  const refused = [...new Set(characters.filter((c) => !ids.has(c)))];
  return { kept: characters.filter((c) => ids.has(c)).join(''), refused };
}

export function commonPrefix(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  let n = 0;
  while (n < x.length && n < y.length && x[n] === y[n]) n++;
  return x.slice(0, n).join('');
}

/**
 * The chunks that take a sequence holding `sent` to one holding `next`; `alive`: the sequence is in progress on the
 * server (or its start is queued). Each op is `{kind, chunk, text, start, end}`: `chunk` the characters it sends,
 * `text` what the sequence holds once it has answered.
 *   - typing at the end: one step per character, the first of a new sequence with `start`;
 *   - any other edit (Backspace, a deletion or insertion earlier in the text): a restart, `start` on the same id,
 *     with the text both share as one chunk (the server begins it again from zeros, so its state is exactly that
 *     text's), then one step per character after it. Every step before the edit keeps the state it had, since a
 *     step's state depends on the steps before it only; so one request replays what is kept, however long;
 *   - an empty text: the sequence ends (`end`, one padding step).
 */
export function planEdit(sent, next, alive) {
  if (next === '') return alive ? [END] : [];
  const continuing = alive && next.startsWith(sent);
  const kept = continuing ? sent : commonPrefix(sent, next);
  const ops = [];
  if (!continuing && kept !== '') ops.push({ kind: 'restart', chunk: kept, text: kept, start: true, end: false });
  let text = kept;
  for (const c of Array.from(next).slice(Array.from(kept).length)) {
    text += c;
    ops.push({ kind: 'step', chunk: c, text, start: !continuing && ops.length === 0, end: false });
  }
  return ops;
}

/** The body of `op`'s request: its characters as token ids, `[1][time][1]`; the flags only when set. */
export function chunkBody(op, { sequenceId, vocabulary }) {
  const ids = op.end ? [PADDING_ID] : Array.from(op.chunk).map((c) => vocabulary.ids.get(c));
  const body = { inputs: [ids.map((id) => [id])], sequenceId };
  if (op.start) body.sequenceStart = true;
  if (op.end) body.sequenceEnd = true;
  else {
    body.topK = vocabulary.topK;
    if (vocabulary.lastStepOnly) body.returnSequences = false;
  }
  return body;
}

/** `states` (or `cellStates`) of a one-sequence answer as one row: every layer's units, layer by layer. */
export function stateRow(values, shape) {
  if (values === undefined) return null;
  const matrices = shape.length > 0 && Array.isArray(shape[0]) ? values : [values];
  return matrices.flatMap((matrix) => matrix[0]);
}

/** The drawn record of a step: its character, h (and an LSTM's c) after it, and the most likely next classes. */
export function stepRecord(character, answer) {
  return {
    character,
    h: stateRow(answer.states, answer.shapes.states ?? []),
    c: stateRow(answer.cellStates, answer.shapes.cellStates ?? []),
    classes: answer.classes[0],
  };
}

/**
 * One typing session on one model: the sequence's id, what it holds, the steps drawn, and the queue of chunks.
 * `send(body)` posts a chunk and resolves to `{answer}` or `{problem}`; `newSequenceId()` draws an id;
 * `onChange()` is called after every change, for the page to draw.
 */
export class StreamSession {
  /** Ops waiting or in flight, oldest first: `{...op, body, generation, state: 'queued' | 'sending'}`. */
  queue = [];
  /** The current sequence's drawn steps (stepRecord), one per character it holds. */
  steps = [];
  /** The body of the request sent last (for its curl command), or null. */
  lastBody = null;
  /** The last failure of the current sequence, or null: `{problem, op}`. */
  failure = null;
  /** A note on the previous sequence (its end was refused: it had ended or expired already), or null. */
  note = null;

  #send;
  #newSequenceId;
  #onChange;
  #sending = false;

  constructor({ vocabulary, send, newSequenceId, onChange = () => {} }) {
    this.vocabulary = vocabulary;
    this.#send = send;
    this.#newSequenceId = newSequenceId;
    this.#onChange = onChange;
    this.#begin();
  }

  /** A new sequence: a new id, nothing sent, nothing drawn. */
  #begin() {
    this.sequenceId = this.#newSequenceId();
    this.generation = (this.generation ?? 0) + 1;
    /** The text the sequence holds once every queued op has answered. */
    this.sent = '';
    /** Whether the server holds the sequence (or a start for it is queued). */
    this.alive = false;
    /** Whether any request of this sequence has left (then Reset must end it). */
    this.reached = false;
    this.steps = [];
    this.failure = null;
  }

  /** The text the drawn steps hold (what the server has answered so far). */
  get answered() {
    return this.steps.map((step) => step.character).join('');
  }

  /** The current sequence's ops not yet answered. */
  get pending() {
    return this.queue.filter((op) => op.generation === this.generation);
  }

  /** The text box now reads `next` (characters of the vocabulary only): queue what takes the sequence there. */
  edit(next) {
    if (next === '') {
      if (this.sent !== '') this.reset();
      return;
    }
    const ops = planEdit(this.sent, next, this.alive);
    if (ops.length === 0) return;
    for (const op of ops) this.#enqueue(op);
    this.sent = next;
    this.alive = true;
    this.failure = null;
    this.#onChange();
    this.#pump();
  }

  /**
   * Ends the sequence and begins a new one with a new id. Chunks of it not yet sent are dropped; if any request of it
   * has left, a padding step with `sequenceEnd` follows them (after the one in flight, if any).
   */
  reset() {
    this.queue = this.queue.filter((op) => op.generation !== this.generation || op.state === 'sending');
    this.note = null;
    if (this.reached) this.#enqueue(END);
    this.#begin();
    this.#onChange();
    this.#pump();
  }

  /** After a failure, sends the text again from a start: what the box holds, kept steps replayed as one chunk. */
  resend(text) {
    this.alive = false;
    this.edit(text);
  }

  #enqueue(op) {
    const body = chunkBody(op, { sequenceId: this.sequenceId, vocabulary: this.vocabulary });
    this.queue.push({ ...op, body, generation: this.generation, state: 'queued' });
  }

  async #pump() {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.queue.length > 0) {
        const op = this.queue[0];
        op.state = 'sending';
        if (op.generation === this.generation) this.reached = true;
        this.lastBody = op.body;
        this.#onChange();
        const result = await this.#send(op.body);
        this.queue.shift();
        this.#settle(op, result);
        this.#onChange();
      }
    } finally {
      this.#sending = false;
    }
  }

  #settle(op, { answer, problem }) {
    const current = op.generation === this.generation;
    if (problem !== undefined) {
      // The rest of that sequence's chunks were planned on this one's state: drop them. What was answered stands;
      // the next edit (or resend) starts the sequence again from it.
      this.queue = this.queue.filter((other) => other.generation !== op.generation);
      if (!current) {
        this.note = { problem, sequenceId: op.body.sequenceId };
        return;
      }
      this.failure = { problem, op };
      this.alive = false;
      this.sent = this.answered;
      return;
    }
    if (!current || op.end) return;
    const characters = Array.from(op.text);
    this.steps = [...this.steps.slice(0, characters.length - 1), stepRecord(characters[characters.length - 1], answer)];
  }
}
