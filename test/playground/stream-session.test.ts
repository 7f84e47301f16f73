/**
 * The "Type to stream" panel's logic without a browser (src/http/routes/playground/public/stream-session.js): the
 * vocabulary read from next-char's metadata, what each edit of the text box sends, the bodies, and the session's
 * queue against the real app (each key's answer is what the whole prefix answers, bit for bit; Backspace replays;
 * Reset ends the sequence on the server) and against a send the test answers by hand (keys typed faster than answers
 * leave one at a time, in order; Reset and failures mid-flight).
 */
import t from 'tap';
import { build, SHIPPED_MODELS } from '../helpers/build.js';

// A plain ES module for the browser: imported by URL, untyped (the test reads what it returns).
const session: any = await import(
  new URL('../../src/http/routes/playground/public/stream-session.js', import.meta.url).href
);
const curl: any = await import(new URL('../../src/http/routes/playground/public/curl.js', import.meta.url).href);
const { streamVocabulary, keepVocabulary, commonPrefix, planEdit, chunkBody, stateRow, StreamSession, PADDING_ID } =
  session;

type Json = Record<string, any>;

async function served(t: Parameters<typeof build>[0]) {
  const { app } = await build(t, { models: { dir: SHIPPED_MODELS } });
  const forward = async (body: object): Promise<{ status: number; json: Json }> => {
    const res = await app.inject({ method: 'POST', url: '/models/next-char/forward', payload: body });
    return { status: res.statusCode, json: res.json() };
  };
  const metadata = (await app.inject({ method: 'GET', url: '/models/next-char' })).json();
  return { app, forward, metadata, vocabulary: streamVocabulary(metadata) };
}

/** Ids a test can predict: s1, s2, … */
const counter = () => {
  let n = 0;
  return () => `s${++n}`;
};

t.test("next-char's metadata: its labels are the characters, label k is token id k + 1", async (t) => {
  const { metadata, vocabulary } = await served(t);
  t.same(metadata.labels, ['h', 'e', 'l', 'o']);
  t.equal(metadata.vocabulary, null, 'no one-hot vocabulary: the model reads token ids');
  t.same(metadata.inputs[0].shape, [-1, -1, 1]);
  t.same(metadata.outputs[0].shape, [-1, 4], 'many-to-one: the last step only');
  t.same(vocabulary.characters, ['h', 'e', 'l', 'o']);
  t.same(
    [...vocabulary.ids],
    [
      ['h', 1],
      ['e', 2],
      ['l', 3],
      ['o', 4],
    ],
  );
  t.equal(vocabulary.topK, 4, 'every class: fewer than MAX_TOP_K');
  t.equal(vocabulary.lastStepOnly, false, 'a many-to-one model is not sent returnSequences (it refuses true)');

  const like = (changes: Json) => streamVocabulary({ ...metadata, ...changes });
  t.match(like({ ready: false }).problem, 'model "next-char" is not ready');
  t.match(like({ inputs: [{ name: 'inputs', shape: [-1, -1, 4] }] }).problem, 'not one token id per step');
  t.match(like({ labels: undefined }).problem, 'names no classes (no labels.txt)');
  t.match(like({ labels: ['negative', 'positive'] }).problem, 'has the label "negative", not one character');
  t.match(like({ labels: ['a', 'a'] }).problem, 'repeats a label');
  const manyToMany = like({ outputs: [{ name: 'outputs', shape: [-1, -1, 4] }] });
  t.equal(manyToMany.lastStepOnly, true, 'a many-to-many model is asked for its last step');
  t.same(chunkBody({ chunk: 'h', start: true, end: false }, { sequenceId: 'a', vocabulary: manyToMany }), {
    inputs: [[[1]]],
    sequenceId: 'a',
    sequenceStart: true,
    topK: 4,
    returnSequences: false,
  });
  t.equal(like({ labels: 'abcdefgh'.split('') }).topK, 5, 'at most MAX_TOP_K');
});

t.test('what the box keeps, and what each edit sends', async (t) => {
  const ids = new Map([...'helo'].map((c, k) => [c, k + 1]));
  t.same(keepVocabulary('hexlo', ids), { kept: 'helo', refused: ['x'] });
  t.same(keepVocabulary('Hello, you', ids), { kept: 'elloo', refused: ['H', ',', ' ', 'y', 'u'] });
  t.same(keepVocabulary('hello', ids), { kept: 'hello', refused: [] });
  t.equal(commonPrefix('hell', 'heol'), 'he');
  t.equal(commonPrefix('', 'h'), '');

  const ops = (sent: string, next: string, alive: boolean) =>
    planEdit(sent, next, alive).map((op: Json) => `${op.kind}:${op.chunk}${op.start ? ':start' : ''}→${op.text}`);
  t.same(ops('', 'h', false), ['step:h:start→h'], 'the first key starts the sequence');
  t.same(ops('h', 'hel', true), ['step:e→he', 'step:l→hel'], 'keys at the end: one step each, in order');
  t.same(ops('hell', 'hel', true), ['restart:hel:start→hel'], 'Backspace: a restart replaying the rest, one chunk');
  t.same(ops('hell', 'heol', true), ['restart:he:start→he', 'step:o→heo', 'step:l→heol'], 'an edit inside');
  t.same(ops('hell', 'ell', true), ['step:e:start→e', 'step:l→el', 'step:l→ell'], 'the first character changed');
  t.same(ops('hel', '', true), ['end:→'], 'emptied: the sequence ends');
  t.same(ops('', '', false), [], 'nothing to end');
  t.same(ops('he', 'hel', false), ['restart:he:start→he', 'step:l→hel'], 'after a failure: from a start again');
  t.same(ops('he', 'he', false), ['restart:he:start→he'], 'a resend of the same text');
  t.same(ops('he', 'he', true), [], 'no change');

  const vocabulary = { ids, topK: 4, lastStepOnly: false };
  const body = (op: Json) => chunkBody(op, { sequenceId: 'playground-1', vocabulary });
  const [first] = planEdit('', 'h', false);
  t.same(body(first), { inputs: [[[1]]], sequenceId: 'playground-1', sequenceStart: true, topK: 4 });
  const [, second] = planEdit('', 'he', false);
  t.same(body(second), { inputs: [[[2]]], sequenceId: 'playground-1', topK: 4 }, 'no sequenceStart: false');
  t.same(body(planEdit('hell', 'hel', true)[0]), {
    inputs: [[[1], [2], [3]]],
    sequenceId: 'playground-1',
    sequenceStart: true,
    topK: 4,
  });
  t.same(body(planEdit('hel', '', true)[0]), {
    inputs: [[[PADDING_ID]]],
    sequenceId: 'playground-1',
    sequenceEnd: true,
  });
  t.equal(
    curl.curlCommand('http://127.0.0.1:8080', '/models/next-char/forward', { sequenceId: "it's" }),
    `curl -s http://127.0.0.1:8080/models/next-char/forward -H 'content-type: application/json' -d '{"sequenceId":"it'\\''s"}'`,
    'the body as sent, quoted for a POSIX shell',
  );
  t.same(stateRow([[1, 2]], [1, 2]), [1, 2]);
  t.same(
    stateRow(
      [[[1, 2]], [[3]]],
      [
        [1, 2],
        [1, 1],
      ],
    ),
    [1, 2, 3],
    'a stack: layer by layer',
  );
  t.equal(stateRow(undefined, []), null);
});

t.test('against the app: each key answers what the whole prefix answers; Backspace; Reset ends it', async (t) => {
  const { forward, vocabulary } = await served(t);
  const sent: Json[] = [];
  let settled: () => void = () => {};
  const s = new StreamSession({
    vocabulary,
    newSequenceId: counter(),
    send: async (body: Json) => {
      sent.push(body);
      const { status, json } = await forward(body);
      return status === 200 ? { answer: json } : { problem: json };
    },
    onChange: () => {
      if (s.queue.length === 0) settled();
    },
  });
  const idle = () => new Promise<void>((resolve) => (settled = resolve));

  /** The drawn steps equal the answers for each prefix sent whole, without a sequence. */
  const sameAsWhole = async (text: string) => {
    t.equal(s.answered, text);
    for (let n = 1; n <= text.length; n++) {
      const prefix = text.slice(0, n);
      const whole = await forward({ inputs: [[...prefix].map((c) => [vocabulary.ids.get(c)])], topK: 4 });
      t.equal(whole.status, 200);
      t.same(s.steps[n - 1].h, whole.json.states[0], `h after "${prefix}", bit for bit`);
      t.same(s.steps[n - 1].classes, whole.json.classes[0], `the next characters after "${prefix}"`);
    }
  };

  for (const text of ['h', 'he', 'hel', 'hell']) {
    const done = idle();
    s.edit(text);
    await done;
  }
  t.same(
    sent.map((body) => body.inputs),
    [[[[1]]], [[[2]]], [[[3]]], [[[3]]]],
    'one id per key',
  );
  t.same(
    sent.map((body) => body.sequenceStart),
    [true, undefined, undefined, undefined],
  );
  t.ok(
    sent.every((body) => body.sequenceId === 's1'),
    'one sequence',
  );
  t.equal(s.steps.at(-1).classes[0].label, 'o', 'after "hell", "o"');
  await sameAsWhole('hell');

  let done = idle();
  s.edit('hel');
  await done;
  t.same(sent.at(-1), { inputs: [[[1], [2], [3]]], sequenceId: 's1', sequenceStart: true, topK: 4 });
  await sameAsWhole('hel');
  done = idle();
  s.edit('heo');
  await done;
  t.same(
    sent.slice(-2).map((body) => [body.inputs, body.sequenceStart]),
    [
      [[[[1], [2]]], true],
      [[[[4]]], undefined],
    ],
    'an edit inside: the kept "he" as one chunk, then "o"',
  );
  await sameAsWhole('heo');

  done = idle();
  s.reset();
  await done;
  t.same(sent.at(-1), { inputs: [[[0]]], sequenceId: 's1', sequenceEnd: true }, 'Reset ends s1');
  t.equal(s.sequenceId, 's2');
  t.same(s.steps, []);
  const ended = await forward({ inputs: [[[1]]], sequenceId: 's1', topK: 4 });
  t.equal(ended.status, 400, 'the server no longer holds s1');
  t.match(ended.json.errors[0].message, /must specify the START flag/);
  done = idle();
  s.edit('o');
  await done;
  t.same(sent.at(-1), { inputs: [[[4]]], sequenceId: 's2', sequenceStart: true, topK: 4 }, 'the next key starts s2');
  await sameAsWhole('o');
  done = idle();
  s.edit('');
  await done;
  t.same(sent.at(-1), { inputs: [[[0]]], sequenceId: 's2', sequenceEnd: true }, 'emptied: s2 ends');
  t.equal(s.sequenceId, 's3');
});

/** A send the test answers: each call waits until the test resolves it. */
function handSend() {
  const calls: { body: Json; answer: (result: Json) => void }[] = [];
  const send = (body: Json) => new Promise<Json>((answer) => calls.push({ body, answer }));
  return { calls, send };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const answerFor = (h: number) => ({
  states: [[h]],
  shapes: { states: [1, 1] },
  classes: [[{ score: h, index: 0, label: 'h' }]],
});

t.test('keys faster than answers: queued, sent one at a time, in order', async (t) => {
  const { vocabulary } = await served(t);
  const { calls, send } = handSend();
  const s = new StreamSession({ vocabulary, send, newSequenceId: counter() });
  s.edit('h');
  s.edit('he');
  s.edit('hel');
  s.edit('hell');
  await tick();
  t.equal(calls.length, 1, 'one request in flight');
  t.same(
    s.pending.map((op: Json) => [op.chunk, op.state]),
    [
      ['h', 'sending'],
      ['e', 'queued'],
      ['l', 'queued'],
      ['l', 'queued'],
    ],
    'the pending keys, oldest first',
  );
  t.same(s.lastBody, { inputs: [[[1]]], sequenceId: 's1', sequenceStart: true, topK: 4 });
  for (let i = 0; i < 4; i++) {
    calls[i].answer({ answer: answerFor(i) });
    await tick();
    t.equal(calls.length, Math.min(i + 2, 4), `the next leaves only after answer ${i}`);
  }
  t.same(
    calls.map(({ body }) => body.inputs[0][0][0]),
    [1, 2, 3, 3],
    'in the order typed',
  );
  t.same(
    s.steps.map((step: Json) => [step.character, step.h[0]]),
    [
      ['h', 0],
      ['e', 1],
      ['l', 2],
      ['l', 3],
    ],
  );
  t.same(s.pending, []);
});

t.test(
  'Reset mid-flight: queued keys dropped, the end follows the request in flight; late answers not drawn',
  async (t) => {
    const { vocabulary } = await served(t);
    const { calls, send } = handSend();
    const s = new StreamSession({ vocabulary, send, newSequenceId: counter() });
    s.edit('h');
    s.edit('he');
    await tick();
    s.reset();
    s.edit('o');
    t.same(
      s.queue.map((op: Json) => [op.body.sequenceId, op.kind, op.chunk, op.state]),
      [
        ['s1', 'step', 'h', 'sending'],
        ['s1', 'end', '', 'queued'],
        ['s2', 'step', 'o', 'queued'],
      ],
    );
    calls[0].answer({ answer: answerFor(0.5) });
    await tick();
    t.same(s.steps, [], "s1's late answer is not drawn on s2");
    t.same(calls[1].body, { inputs: [[[0]]], sequenceId: 's1', sequenceEnd: true });
    calls[1].answer({ problem: { title: 'Invalid request', detail: 'expired' } });
    await tick();
    t.same(
      s.note,
      { problem: { title: 'Invalid request', detail: 'expired' }, sequenceId: 's1' },
      'a refused end: a note',
    );
    t.equal(s.failure, null, 'not a failure of the current sequence');
    t.same(calls[2].body, { inputs: [[[4]]], sequenceId: 's2', sequenceStart: true, topK: 4 });
    calls[2].answer({ answer: answerFor(0.25) });
    await tick();
    t.same(
      s.steps.map((step: Json) => step.character),
      ['o'],
    );

    // A Reset before anything of the sequence has left sends nothing to end.
    const hand = handSend();
    const quiet = new StreamSession({ vocabulary, send: hand.send, newSequenceId: counter() });
    quiet.reset();
    await tick();
    t.equal(hand.calls.length, 0);
  },
);

t.test(
  'a failure drops the keys planned on it; the next edit or a resend starts again from what was answered',
  async (t) => {
    const { vocabulary } = await served(t);
    const { calls, send } = handSend();
    const s = new StreamSession({ vocabulary, send, newSequenceId: counter() });
    s.edit('h');
    s.edit('he');
    s.edit('hel');
    await tick();
    calls[0].answer({ answer: answerFor(0.1) });
    await tick();
    const problem = { title: 'Invalid request', status: 400, detail: 'must specify the START flag' };
    calls[1].answer({ problem });
    await tick();
    t.equal(calls.length, 2, '"l" was planned on "e": dropped');
    t.same(s.failure.problem, problem);
    t.same(s.pending, []);
    t.equal(s.sent, 'h', 'what the server answered');
    t.equal(s.alive, false);
    s.resend('hel');
    await tick();
    t.same(calls[2].body, { inputs: [[[1]]], sequenceId: 's1', sequenceStart: true, topK: 4 }, 'restart with "h"');
    t.equal(s.failure, null);
    calls[2].answer({ answer: answerFor(0.1) });
    await tick();
    t.same(calls[3].body, { inputs: [[[2]]], sequenceId: 's1', topK: 4 });
    calls[3].answer({ answer: answerFor(0.2) });
    await tick();
    calls[4].answer({ answer: answerFor(0.3) });
    await tick();
    t.equal(s.answered, 'hel');
  },
);
