/**
 * Sequence batching: steps of different sequences that arrive together run as one pass (the core's dynamic batching,
 * with each sequence's carried state as its row's initial state), and each answers what its step answers alone, bit
 * for bit. Requests injected in one turn reach the core together; the in-process store loads their states without a
 * round trip, so they are placed together (core.ts, `#chunkReady`).
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SHIPPED_MODELS, build } from '../helpers/build.js';
import { sample } from '../helpers/metrics.js';
import { modelsDir } from '../helpers/models.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

const steps = (n: number, features: number, seed: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: features }, (_, f) => Math.fround(Math.sin(seed * 17 + i * 5 + f) * 1.25)),
  );

for (const { model, features } of [
  { model: 'hello', features: 4 },
  { model: 'lstm', features: 3 },
]) {
  t.test(
    `${model}: a step of each of 16 sequences, sent together, is one pass; each equals its step alone`,
    async (t) => {
      const dir = modelsDir(t, {});
      cpSync(SHIPPED_MODELS, dir, { recursive: true });
      cpSync(join(FIXTURES, 'tfjs-gated/lstm-state'), join(dir, 'lstm', '1'), { recursive: true });
      const { app } = await build(t, { models: { dir } });
      const forward = async (body: object) => {
        const res = await app.inject({ method: 'POST', url: `/models/${model}/forward`, payload: body });
        t.equal(res.statusCode, 200, res.statusCode === 200 ? 'answered' : res.body.slice(0, 300));
        return res.json();
      };
      const batchMetrics = async () => {
        const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
        return {
          passes: sample(text, 'rnn_batch_requests_count') ?? 0,
          requests: sample(text, 'rnn_batch_requests_sum') ?? 0,
        };
      };
      const sequences = Array.from({ length: 16 }, (_, s) => steps(3, features, s));
      // Alone: each sequence step by step, one request at a time.
      const alone: number[][] = [];
      for (const [s, sequence] of sequences.entries()) {
        const outputs: number[] = [];
        for (const [i, step] of sequence.entries())
          outputs.push(
            ...(
              await forward({
                inputs: [[step]],
                outputFormat: 'flat',
                sequenceId: `alone-${s}`,
                sequenceStart: i === 0,
                sequenceEnd: i === sequence.length - 1,
              })
            ).outputs.data,
          );
        alone.push(outputs);
      }
      t.same((await batchMetrics()).passes, 0, 'one request at a time: no merged pass');
      // Together: each round, one step of every sequence, all sent at once.
      const together: number[][] = sequences.map(() => []);
      for (let i = 0; i < 3; i++) {
        const before = await batchMetrics();
        const answers = await Promise.all(
          sequences.map((sequence, s) =>
            forward({
              inputs: [[sequence[i]]],
              outputFormat: 'flat',
              sequenceId: `together-${s}`,
              sequenceStart: i === 0,
              sequenceEnd: i === 2,
            }),
          ),
        );
        answers.forEach((answer, s) => together[s].push(...answer.outputs.data));
        const after = await batchMetrics();
        t.same(
          { passes: after.passes - before.passes, requests: after.requests - before.requests },
          { passes: 1, requests: 16 },
          `step ${i}: the 16 steps ran as one merged pass`,
        );
      }
      t.same(together, alone, 'each sequence answers in the merged passes what it answers alone, bit for bit');
    },
  );
}
