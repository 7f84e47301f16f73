/**
 * Numerical faults, as properties (fast-check, fixed seed; FUZZ_SEED / FUZZ_RUNS as in fuzz.test.ts).
 * test/http/routes/rnn/forward.test.ts pins single examples (tanh saturating, linear and relu overflowing to 422);
 * here random weights scaled up to the float32 limit must give either 200 with exactly the naive reference's
 * float32 values, or 422 naming the reference's first non-finite position. Bounded activations never fail.
 */
import t from 'tap';
import fc from 'fast-check';
import { simpleRnnForwardReference } from '../../src/engine/reference.js';
import type { ActivationName } from '../../src/engine/activations.js';
import { build } from '../helpers/build.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const FACTOR = Number(process.env.FUZZ_RUNS ?? 1);
const params = (numRuns: number) => ({
  seed: SEED,
  numRuns: Math.max(1, Math.round(numRuns * FACTOR)),
  endOnFailure: false,
  interruptAfterTimeLimit: 30_000,
  markInterruptAsFailure: false,
});

const SCALES = [1, 1e5, 1e10, 1e19, 1e30, 3.4e38];
const UNBOUNDED: ActivationName[] = ['linear', 'relu', 'elu', 'selu', 'softplus'];
const BOUNDED: [ActivationName, number, number][] = [
  ['tanh', -1, 1],
  ['sigmoid', 0, 1],
  ['hardSigmoid', 0, 1],
  ['softsign', -1, 1],
  ['relu6', 0, 6],
];

/** A single-layer problem: dimensions, activation, and weights and inputs uniform in [-1, 1] times a scale. */
const problem = (activations: readonly ActivationName[]) =>
  fc.gen().map((g) => {
    const batch = g(fc.integer, { min: 1, max: 2 });
    const time = g(fc.integer, { min: 1, max: 6 });
    const inputDim = g(fc.integer, { min: 1, max: 3 });
    const hidden = g(fc.integer, { min: 1, max: 3 });
    const weightScale = g(fc.constantFrom, ...SCALES);
    const inputScale = g(fc.constantFrom, ...SCALES);
    const unit = fc.float({ min: -1, max: 1, noNaN: true });
    const array = (n: number, scale: number) => Array.from({ length: n }, () => Math.fround(g(() => unit) * scale));
    return {
      shape: [batch, time, inputDim] as [number, number, number],
      hidden,
      activation: g(fc.constantFrom, ...activations),
      inputs: array(batch * time * inputDim, inputScale),
      kernel: array(inputDim * hidden, weightScale),
      recurrentKernel: array(hidden * hidden, weightScale),
      bias: array(hidden, weightScale),
    };
  });
type Problem = ReturnType<typeof problem> extends fc.Arbitrary<infer P> ? P : never;

const rows = (data: number[], r: number, c: number) =>
  Array.from({ length: r }, (_, i) => data.slice(i * c, (i + 1) * c));

function body(p: Problem): string {
  const inputDim = p.shape[2];
  return JSON.stringify({
    inputs: { shape: p.shape, data: p.inputs },
    weights: {
      kernel: rows(p.kernel, inputDim, p.hidden),
      recurrentKernel: rows(p.recurrentKernel, p.hidden, p.hidden),
      bias: p.bias,
    },
    activation: p.activation,
    outputFormat: 'flat',
  });
}

/** The reference's outputs, and the path of its first non-finite value (as the service names it), or null. */
function reference(p: Problem): { outputs: Float32Array; firstNonFinite: string | null } {
  const [, time] = p.shape;
  const { outputs } = simpleRnnForwardReference(
    Float32Array.from(p.inputs),
    p.shape,
    {
      inputDim: p.shape[2],
      hiddenSize: p.hidden,
      kernel: Float32Array.from(p.kernel),
      recurrentKernel: Float32Array.from(p.recurrentKernel),
      bias: Float32Array.from(p.bias),
    },
    { activation: p.activation },
  );
  const i = outputs.findIndex((v) => !Number.isFinite(v));
  if (i < 0) return { outputs, firstNonFinite: null };
  const b = Math.floor(i / (time * p.hidden));
  const tt = Math.floor((i % (time * p.hidden)) / p.hidden);
  return { outputs, firstNonFinite: `outputs[${b}][${tt}][${i % p.hidden}]` };
}

t.test('weights and inputs scaled up to the float32 limit', async (t) => {
  const { app } = await build(t, { overload: { maxEventLoopDelayMs: 0 } });
  const tally = { ok: 0, nonFinite: 0 };
  const post = (payload: string) =>
    app.inject({ method: 'POST', url: '/rnn/forward', headers: { 'content-type': 'application/json' }, payload });

  await t.test(
    'unbounded activations: 200 with the reference values, or 422 at its first non-finite position',
    async (t) => {
      await fc.assert(
        fc.asyncProperty(problem(UNBOUNDED), async (p) => {
          const res = await post(body(p));
          const ref = reference(p);
          if (ref.firstNonFinite === null) {
            if (res.statusCode !== 200)
              throw new Error(`expected 200, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
            const data = res.json().outputs.data as number[];
            data.forEach((v, i) => {
              if (Math.fround(v) !== ref.outputs[i])
                throw new Error(`outputs.data[${i}] is ${v}; the reference has ${ref.outputs[i]}`);
            });
            tally.ok++;
          } else {
            if (res.statusCode !== 422)
              throw new Error(
                `expected 422 at ${ref.firstNonFinite}, got ${res.statusCode}: ${res.body.slice(0, 300)}`,
              );
            const problemBody = res.json();
            if (!/^application\/problem\+json/.test(String(res.headers['content-type'])))
              throw new Error('422 is not problem+json');
            if (problemBody.errors?.[0]?.path !== ref.firstNonFinite)
              throw new Error(`422 names ${problemBody.errors?.[0]?.path}; expected ${ref.firstNonFinite}`);
            if (!/^is (-?Infinity|NaN): the result overflows float32/.test(problemBody.errors[0].message))
              throw new Error(`message: ${problemBody.errors[0].message}`);
            tally.nonFinite++;
          }
        }),
        params(500),
      );
      t.comment(`unbounded: ${tally.ok} finite answers (200), ${tally.nonFinite} overflows (422)`);
      t.ok(tally.ok > 0 && tally.nonFinite > 0, 'both outcomes were exercised');
    },
  );

  await t.test('bounded activations saturate: always 200, every value within the range', async () => {
    await fc.assert(
      fc.asyncProperty(problem(BOUNDED.map(([name]) => name)), async (p) => {
        const res = await post(body(p));
        if (res.statusCode !== 200) throw new Error(`expected 200, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
        const [, lo, hi] = BOUNDED.find(([name]) => name === p.activation)!;
        for (const v of res.json().outputs.data as number[])
          if (!(v >= lo && v <= hi)) throw new Error(`${p.activation} gave ${v}, outside [${lo}, ${hi}]`);
      }),
      params(300),
    );
  });

  await t.test('a two-layer stack: an overflow in a state is named by its layer', async (t) => {
    // Layer 0 overflows at step 1 (3e38 · 3e38 · ...): with returnSequences false the outputs are layer 1's last
    // step, also non-finite; the states list names states[i][b][j] when the outputs are finite.
    const big = { kernel: [[3e38]], recurrentKernel: [[3e38]], bias: [0] };
    const res = await post(
      JSON.stringify({
        inputs: [[[1], [1], [1]]],
        weights: [big, { kernel: [[0]], recurrentKernel: [[0]], bias: [0] }],
        activation: 'linear',
      }),
    );
    t.equal(res.statusCode, 422);
    t.match(res.json().errors[0].path, /^(outputs\[0\]\[\d\]\[0\]|states\[\d\]\[0\]\[0\])$/);
  });
});
