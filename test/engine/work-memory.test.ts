/**
 * work-memory.ts estimates what a pass allocates from its shapes alone, for admission before the pass starts.
 * These tests hold its heap and panel terms to what the cells really ask for and pack, for every cell and
 * GRU formulation, and its network total to the pieces it is made of.
 */
import t from 'tap';
import { heapBytesFor, lastHeapRequestBytes } from '../../src/engine/asm-kernels.js';
import { gruForward, packGruPanels } from '../../src/engine/gru.js';
import {
  type CellName,
  cellWork,
  type LayerSpec,
  type NetworkSpec,
  passWorkBytes,
  runNetwork,
  seededNetworkWeights,
  seededWeights,
} from '../../src/engine/index.js';
import { lstmForward, packLstmPanels } from '../../src/engine/lstm.js';
import { packStackedPanels, simpleRnnForward } from '../../src/engine/simple-rnn.js';

const layer = (cell: CellName, hiddenSize: number, extra: Partial<LayerSpec> = {}): LayerSpec => ({
  cell,
  hiddenSize,
  activation: 'tanh',
  useBias: true,
  goBackwards: false,
  clip: null,
  ...extra,
});

const inputs = (batch: number, time: number, features: number) =>
  Float32Array.from({ length: batch * time * features }, (_, i) => Math.fround(Math.sin(i) / 2));

t.test('the heap each cell asks for, and its panels, are what cellWork says', async (t) => {
  const cases: { spec: LayerSpec; batch: number; features: number }[] = [
    { spec: layer('simpleRNN', 48), batch: 30, features: 40 },
    { spec: layer('lstm', 48), batch: 7, features: 33 },
    { spec: layer('gru', 40, { resetAfter: true }), batch: 9, features: 21 },
    { spec: layer('gru', 40, { resetAfter: false }), batch: 9, features: 21 },
    { spec: layer('lstm', 5), batch: 1, features: 3 },
  ];
  for (const { spec, batch, features } of cases) {
    const h = spec.hiddenSize;
    const weights = seededWeights(3, features, h, spec);
    const x = inputs(batch, 4, features);
    const shape = [batch, 4, features] as const;
    const label = `${spec.cell}${spec.cell === 'gru' ? ` resetAfter ${spec.resetAfter}` : ''} b${batch} f${features} h${h}`;
    const work = cellWork(spec, features, h, batch);
    let panels: Float64Array;
    if (spec.cell === 'simpleRNN') {
      simpleRnnForward(x, shape, weights);
      panels = packStackedPanels(weights.kernel, weights.recurrentKernel, features, h);
    } else if (spec.cell === 'lstm') {
      lstmForward(x, shape, weights);
      panels = packLstmPanels(weights);
    } else {
      gruForward(x, shape, weights, { resetAfter: spec.resetAfter });
      panels = packGruPanels(weights, spec.resetAfter ?? true).packed;
    }
    t.equal(lastHeapRequestBytes(), work.heapRequestBytes, `${label}: heap request`);
    t.equal(work.heapBytes, heapBytesFor(work.heapRequestBytes), `${label}: heap rounded`);
    t.equal(panels.byteLength, work.panelBytes, `${label}: panels`);
    const stateArrays = spec.cell === 'simpleRNN' || (spec.cell === 'gru' && spec.resetAfter) ? 1 : 2;
    t.equal(work.stateBytes, stateArrays * batch * h * 4, `${label}: states`);
  }
});

t.test('heaps are powers of two from 64 KiB', async (t) => {
  t.equal(heapBytesFor(1), 64 * 1024);
  t.equal(heapBytesFor(64 * 1024), 64 * 1024);
  t.equal(heapBytesFor(64 * 1024 + 1), 128 * 1024);
  t.equal(heapBytesFor(3_000_000), 4 * 1024 * 1024);
});

t.test('a network pass: sequences, bidirectional copies, states, panels and the largest heap', async (t) => {
  const spec: NetworkSpec = {
    layers: [layer('lstm', 16), layer('gru', 8, { resetAfter: false })],
    bidirectional: { mergeMode: 'concat' },
  };
  const [batch, time, features] = [3, 5, 6];
  const first = cellWork(spec.layers[0], features, 16, batch);
  const second = cellWork(spec.layers[1], 32, 8, batch);
  const sequences = 2 * batch * time * 16 * 4 + 2 * batch * time * 8 * 4;
  const bidirectionalCopies = 3 * batch * time * 16 * 4 + 3 * batch * time * 8 * 4;
  const states = 2 * first.stateBytes + 2 * second.stateBytes;
  const panels = 2 * first.panelBytes + 2 * second.panelBytes;
  const heap = Math.max(first.heapBytes, second.heapBytes);
  t.equal(
    passWorkBytes(spec, [batch, time, features], false),
    sequences + bidirectionalCopies + states + panels + heap,
  );
  t.equal(
    passWorkBytes(spec, [batch, time, features], true),
    sequences + bidirectionalCopies + states + heap,
    "a served model's panels are resident, not charged",
  );
  // The pass itself runs, and its last heap request is the second layer's (its input is the concat, 32 wide).
  runNetwork(inputs(batch, time, features), [batch, time, features], spec, seededNetworkWeights(1, spec, features));
  t.equal(lastHeapRequestBytes(), second.heapRequestBytes);
});

t.test('an LSTM pass is charged more than a SimpleRNN pass of the same shapes', async (t) => {
  const shape = [32, 50, 64] as const;
  const simple = passWorkBytes({ layers: [layer('simpleRNN', 128)], bidirectional: null }, shape, false);
  const lstm = passWorkBytes({ layers: [layer('lstm', 128)], bidirectional: null }, shape, false);
  // Mid: the LSTM's panels are 192·512 float64 (768 KiB) against SimpleRNN's 192 KiB, and its heap 1 MiB.
  t.ok(lstm - simple > 4 * 192 * 128 * 8, `${lstm} vs ${simple}`);
});
