/**
 * index.ts, the engine's barrel: what the rest of the service imports from the engine. Held to it exporting the
 * fast paths and helpers as the modules define them (the same functions), and keeping the naive references out
 * (reference.ts, gated-reference.ts: for tests only).
 */
import t from 'tap';
import * as cellForward from '../../src/engine/cell-forward.js';
import * as engine from '../../src/engine/index.js';
import * as gru from '../../src/engine/gru.js';
import * as lstm from '../../src/engine/lstm.js';
import * as network from '../../src/engine/network.js';
import * as seeded from '../../src/engine/seeded.js';

t.test('the fast paths and helpers, as their modules define them', async (t) => {
  t.equal(engine.runNetwork, network.runNetwork);
  t.equal(engine.lstmForward, lstm.lstmForward);
  t.equal(engine.gruForward, gru.gruForward);
  t.equal(engine.cellForward, cellForward.cellForward);
  t.equal(engine.seededNetworkWeights, seeded.seededNetworkWeights);
  for (const name of [
    'simpleRnnForward',
    'denseForward',
    'embeddingLookup',
    'kerasFromOnnx',
    'pytorchFromKeras',
    'passWorkBytes',
    'glorotUniform',
    'orthogonal',
    'float32Array',
  ])
    t.type((engine as Record<string, unknown>)[name], 'function', name);
});

t.test('the naive references stay out', async (t) => {
  const names = Object.keys(engine);
  for (const reference of [
    'simpleRnnForwardReference',
    'denseReference',
    'lstmForwardReference',
    'gruForwardReference',
  ])
    t.notOk(names.includes(reference), reference);
  t.notOk(names.includes('packLstmPanels'), "a cell's panels are its own business");
});
