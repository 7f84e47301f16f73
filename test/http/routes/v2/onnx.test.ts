/**
 * ONNX models over the Open Inference Protocol: every fixture exported by torch.onnx.export (and every one-node
 * RNN graph) served from a repository, its outputs checked against torch's own (or the NumPy reading of the ONNX
 * definition) and against onnxruntime-node running the same file, within 1e-5.
 */
import t from 'tap';
import { build } from '../../../helpers/build.js';
import {
  type FixtureTensor,
  fixtureBytes,
  fixtureCases,
  maxDiff,
  onnxRepository,
  runOrt,
  servedFixtures,
  transposed,
} from '../../../helpers/onnx.js';

const TOLERANCE = 1e-5;
const FIXTURES = servedFixtures();

/** onnxruntime refuses layout 1: those fixtures carry a time-major twin, run with inputs and outputs transposed. */
async function ortOutputs(name: string, inputs: Record<string, FixtureTensor>) {
  if (!name.includes('layout1')) return runOrt(fixtureBytes(name), inputs);
  const timeMajor = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, v.shape.length === 3 ? { ...v, ...transposed(v, [1, 0, 2]) } : v]),
  );
  const out = await runOrt(fixtureBytes(name, 'ort-layout0.onnx'), timeMajor);
  return {
    Y: transposed(out.Y, [2, 0, 1, 3]),
    Y_h: transposed(out.Y_h, [1, 0, 2]),
  };
}

t.test('every fixture answers as torch (or the ONNX definition) and onnxruntime do, within 1e-5', async (t) => {
  const { app } = await build(t, { models: { dir: onnxRepository(t, FIXTURES) } });
  for (const name of FIXTURES) {
    for (const [k, c] of fixtureCases(name).entries()) {
      const inputs = Object.entries(c.inputs).map(([input, v]) => ({ name: input, ...v }));
      const res = await app.inject({ method: 'POST', url: `/v2/models/${name}/infer`, payload: { inputs } });
      t.equal(res.statusCode, 200, res.statusCode === 200 ? `${name} case ${k}` : res.body);
      const body = res.json();
      t.same(
        body.outputs.map((o: { name: string }) => o.name),
        Object.keys(c.outputs),
        `${name}: every graph output, in the graph's order`,
      );
      const ort = await ortOutputs(name, c.inputs);
      for (const out of body.outputs) {
        const torch = c.outputs[out.name];
        t.same(out.shape, torch.shape, `${name} case ${k} ${out.name}: shape`);
        t.equal(out.datatype, 'FP32');
        const vsExpected = maxDiff(out.data, torch.data);
        const vsOrt = maxDiff(out.data, ort[out.name].data);
        t.ok(vsExpected <= TOLERANCE, `${name} case ${k} ${out.name}: |served - expected| = ${vsExpected}`);
        t.ok(vsOrt <= TOLERANCE, `${name} case ${k} ${out.name}: |served - onnxruntime| = ${vsOrt}`);
        t.same(ort[out.name].shape, torch.shape, `${name}: onnxruntime agrees on the shape`);
      }
    }
  }
});
