/**
 * zod's parse stopping at the first issue (src/errors/parse-if-valid.ts): the same value as the full parse for
 * every body zod accepts, null for every body it rejects (over generated bodies for each schema validated), and a
 * valid body whose large array a union first tries against the wrong option is parsed at once, not after zod
 * built an issue per entry of that option (and overflowed the stack).
 */
import t from 'tap';
import { ForwardRequest } from '../../schemas/forward.js';
import { OipInferenceRequest } from '../../schemas/oip.js';
import { parseIfValid } from '../../src/errors/parse-if-valid.js';
import { BASES, mutate } from '../helpers/mutated-bodies.js';
import { rng } from '../helpers/random.js';

/** CPU milliseconds of `run` (the tests share two cores: wall time would measure the neighbours). */
function cpuMs(run: () => void): number {
  const cpu = process.cpuUsage();
  run();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

t.test('the value of the full parse for valid bodies, null for invalid ones', async (t) => {
  const random = rng(20261204);
  for (const [name, schema, bases] of BASES) {
    const mismatches: string[] = [];
    let valid = 0;
    for (let i = 0; i < 1000; i++) {
      const body = i < bases.length ? bases[i] : mutate(bases[i % bases.length], random);
      const full = schema.safeParse(body);
      const early = parseIfValid(schema, body);
      if (full.success) valid++;
      const same = full.success
        ? early !== null && JSON.stringify(early.value) === JSON.stringify(full.data)
        : early === null;
      if (!same && mismatches.length < 5) mismatches.push(JSON.stringify(body).slice(0, 300));
    }
    t.same(mismatches, [], `${name}: the same verdict and value as zod's full parse`);
    t.ok(valid >= bases.length, `${name}: ${valid} of 1000 valid`);
  }
});

t.test("a union's wrong option costs one entry, not one issue per entry", async (t) => {
  // initialState is a matrix or a list of matrices; zod tries the matrix first.
  const list = { inputs: [[[1]]], hiddenSize: 1, initialState: [new Array(600_000).fill([1])] };
  let parsed: ReturnType<typeof parseIfValid> = null;
  const ms = cpuMs(() => {
    parsed = parseIfValid(ForwardRequest, list);
  });
  t.ok(parsed !== null, 'valid: parsed');
  t.equal((parsed as { value: { initialState: number[][][] } } | null)?.value.initialState[0].length, 600_000);
  t.ok(ms < 500, `in ${ms.toFixed(0)} ms of CPU (the full parse overflowed the stack after 1–2 s)`);
  // The protocol's data, flat or nested 2 or 3 levels: nested 3 levels, it is tried flat and 2 levels first.
  const data = [new Array(200_000).fill([1, 0, 0, 1])];
  const oip = { inputs: [{ name: 'input', shape: [1, 200_000, 4], datatype: 'FP32', data }] };
  const oipMs = cpuMs(() => t.ok(parseIfValid(OipInferenceRequest, oip), 'a protocol request nested 3 levels'));
  t.ok(oipMs < 500, `in ${oipMs.toFixed(0)} ms of CPU`);
});
