/**
 * The readers the docs tests stand on: GitHub's heading slugs, links outside code, the steps of a shell example and
 * the comparison of a shown answer with a real one. Each must find what is wrong, not only accept what is right.
 */
import t from 'tap';
import { answerMismatch, examplesOf, mismatch, parsePattern, stepsOf } from '../helpers/doc-examples.js';
import { anchorsOf, githubSlug, linksOf, renderedText } from '../helpers/markdown.js';

const slug = (heading: string) => githubSlug(renderedText(heading));

t.test("GitHub's slugs", async (t) => {
  // Anchors GitHub gives these headings
  t.equal(slug('The seeded-weights contract'), 'the-seeded-weights-contract');
  t.equal(slug('POST /rnn/forward'), 'post-rnnforward');
  t.equal(slug('`model.json` (format `rnn-serve/v1`)'), 'modeljson-format-rnn-servev1');
  t.equal(slug('HTTP: inference protocol, binary vs JSON'), 'http-inference-protocol-binary-vs-json');
  t.equal(slug("PyTorch's packed sequences"), 'pytorchs-packed-sequences');
  t.equal(slug('Cells: SimpleRNN, LSTM, GRU'), 'cells-simplernn-lstm-gru');
  t.equal(slug('A -- B'), 'a----b', 'each space is a hyphen, hyphens kept');
  t.equal(slug('MAX_BATCH and **bold**'), 'max_batch-and-bold', 'underscores kept, emphasis dropped');
  t.equal(slug('[Link text](elsewhere.md) here'), 'link-text-here');
  t.equal(slug('Ünïcödé 2²'), 'ünïcödé-2²', 'letters and numbers of any script kept');
  t.equal(slug('Known gaps!?'), 'known-gaps');
});

t.test('anchors: repeated headings are numbered; headings in code blocks are not headings', async (t) => {
  const text = ['# Notes', '## Notes', '```sh', '# not a heading', '```', '### Notes #', '<a id="custom"></a>'].join(
    '\n',
  );
  t.same([...anchorsOf(text)].sort(), ['custom', 'notes', 'notes-1', 'notes-2']);
});

t.test('links: inline, wrapped, definitions and hrefs; none from code', async (t) => {
  const text = [
    'See [the page](a.md#x) and [a wrapped',
    'link](b.md), `[code](c.md)`.',
    '',
    '[ref]: d.md',
    'text [not a definition]: e.md',
    '<a href="f.md">f</a>',
    '```md',
    '[in a block](g.md)',
    '```',
  ].join('\n');
  t.same(
    linksOf(text).map((link) => `${link.line} ${link.target}`),
    ['1 a.md#x', '1 b.md', '4 d.md', '6 f.md'],
  );
});

t.test('steps: commands, their answers, comments above, heredocs', async (t) => {
  const steps = stepsOf(
    [
      '# a comment about the first step',
      'curl -s localhost:8080/a \\',
      "  -d '{}'",
      '# {"a": 1}',
      '#  ...',
      '',
      'x=1',
      '',
      "python3 - <<'EOF'",
      '# a Python comment, not an answer',
      '',
      'print(1)',
      'EOF',
      '# 1',
    ],
    10,
  );
  t.same(
    steps.map((step) => [step.line, step.script.length, step.shown]),
    [
      [10, 3, '{"a": 1}\n ...'],
      [16, 1, null],
      [18, 5, '1'],
    ],
  );
  t.throws(() => stepsOf(['# only a comment'], 1), /comments with no command/);
});

t.test('examples: directives, a json block as the last answer, curl only in shell blocks', async (t) => {
  const page = [
    '<!-- example-server: API_KEYS=0123456789abcdef RATE_LIMIT_MAX=2 -->',
    '<!-- example-model: m test/fixtures/m -->',
    '```sh',
    'curl -s localhost:8080/x',
    '```',
    '',
    '```json',
    '{"a": 1}',
    '```',
    '',
    'No curl here:',
    '```sh',
    'npm test',
    '```',
  ].join('\n');
  const [example, ...others] = examplesOf('p.md', page);
  t.same(others, []);
  t.same(example.server, { API_KEYS: '0123456789abcdef', RATE_LIMIT_MAX: '2' });
  t.same(example.models, { m: 'test/fixtures/m' });
  t.equal(example.steps[0].shown, '{"a": 1}');
  t.throws(() => examplesOf('p.md', '```\ncurl -s localhost:8080/x\n```'), /use ```sh/);
  t.throws(() => examplesOf('p.md', '<!-- example-sever: X=1 -->\n```sh\ncurl x\n```'), /unknown directive/);
  t.throws(() => examplesOf('p.md', '<!-- example-untested: -->\n```sh\ncurl x\n```'), /needs its reason|unknown/);
});

t.test('JSON patterns: ... for a value, for members, for runs of elements', async (t) => {
  const answer = { outputs: [[0.5370496, -0.33637553], [0.124353]], model: { seed: 42, layers: [] }, id: 'x' };
  const ok = (shown: string) => t.equal(mismatch(parsePattern(shown), answer), null, shown);
  const fails = (shown: string, why: RegExp) => t.match(mismatch(parsePattern(shown), answer), why, shown);
  ok('{"outputs": [[0.5370496, -0.33637553], [0.124353]], "model": {"seed": 42, "layers": []}, "id": "x"}');
  ok('{"outputs": ..., ...}');
  ok('{"outputs": [[0.5370496, ...], ...], "model": {...}, ...}');
  ok('{"outputs": [..., [0.124353]], ...}');
  ok('{"outputs": [[..., -0.33637553], ...], …}');
  fails('{"outputs": ...}', /also has model, id/);
  fails('{"outputs": [[0.5370497, ...], ...], ...}', /\$\.outputs\[0\]\[0\]: the page shows 0\.5370497/);
  fails('{"outputs": [[0.5370496]], ...}', /2 elements/);
  fails('{"outputs": [[0.5370496, -0.33637553, ...], [0.124353], [1]], ...}', /more than/);
  fails('{"missing": 1, ...}', /no such member/);
  fails('{"id": 7, ...}', /shows 7/);
  fails('{"model": [], ...}', /shows an array/);
  // numbers compare as the doubles their decimals read as: the same float32 written two ways is equal
  t.equal(mismatch(parsePattern('[0.000047752503, 4.7752503e-5]'), [4.7752503e-5, 0.000047752503]), null);
  t.throws(() => parsePattern('{"a": 1,, }'), /expected a string/);
  t.throws(() => parsePattern('{"a": 1} x'), /unexpected text/);
});

t.test('answers: JSON, HTTP with headers, text', async (t) => {
  const http =
    'HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer realm="x"\r\nx-request-id: 1\r\n\r\n{"status":401}';
  t.equal(
    answerMismatch('HTTP/1.1 401 Unauthorized\nwww-authenticate: Bearer realm="x"\n\n{"status": 401}', http),
    null,
  );
  t.equal(answerMismatch('HTTP/1.1 401 Unauthorized\nx-request-id: ...\n{"status": 401}', http), null);
  t.match(answerMismatch('HTTP/1.1 403 Forbidden', http), /403/);
  t.match(answerMismatch('HTTP/1.1 401 Unauthorized\nretry-after: 1', http), /retry-after/);
  t.match(answerMismatch('HTTP/1.1 401 Unauthorized\n\n{"status": 403}', http), /403/);
  t.equal(answerMismatch('a\n...\nd', 'a\nb\nc\nd\n'), null);
  t.match(answerMismatch('a\nd', 'a\nb\nd'), /the step printed/);
  t.match(answerMismatch('{"a": 1}', 'not json'), /shows JSON/);
});
