/**
 * What the repository serves, version by version: a new load swaps in at once while leases finish on the model
 * they hold; a retired model takes no new request and is freed (memory given back, listeners told) after its last
 * lease; a failed load never replaces a model that serves; states and reasons as Triton's index lists them; loaded
 * models charged to the memory budget, one that does not fit refused with the reason.
 */
import t from 'tap';
import { defaultConfig } from '../../src/config/config.js';
import type { ProblemError } from '../../src/errors/problem-error.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import { ModelLoadError, type ServedModel, loadModelFile, residentBytes } from '../../src/models/model-file.js';
import { ModelMemoryError, ModelRegistry, type RegistryEvent } from '../../src/models/model-registry.js';
import { RepositoryFiles } from '../../src/models/repository-files.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import { modelsDir } from '../helpers/models.js';

const model = (seed: number) => ({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed });
const explicit = {
  format: 'rnn-serve/v1',
  inputDim: 2,
  hiddenSize: 2,
  weights: {
    kernel: [
      [1, 0],
      [0, 1],
    ],
    recurrentKernel: [
      [0.5, 0],
      [0, 0.5],
    ],
    bias: [0, 0],
  },
};

async function served(t: Parameters<typeof modelsDir>[0], version: string, content: object = model(Number(version))) {
  const dir = modelsDir(t, { [`m/${version}/model.json`]: content });
  const files = (await RepositoryFiles.at(dir))!;
  return loadModelFile(files, `m/${version}/model.json`, 'm', version, defaultConfig.limits, new SeededWeightsCache(0));
}

function problem(t: { fail(m: string): void }, run: () => unknown): ProblemError {
  try {
    run();
  } catch (error) {
    return error as ProblemError;
  }
  t.fail('no problem');
  return undefined as never;
}

t.test('install, get and acquire; a replacement swaps in while leases finish on the old model', async (t) => {
  const budget = new MemoryBudget(1 << 30, 1);
  const registry = new ModelRegistry(budget, 2);
  const events: RegistryEvent[] = [];
  registry.onEvent((event) => events.push(event));
  const retired: [string, string, ServedModel][] = [];
  registry.onRetire((name, version, model) => retired.push([name, version, model]));

  const first = await served(t, '1', explicit);
  registry.install(first);
  t.same(registry.names(), ['m']);
  t.equal(registry.get('m'), first);
  t.equal(budget.resident, residentBytes(first), 'the model is charged to the budget');
  t.ok(residentBytes(first) >= 3 * 4 * 10, 'weights, and the float64 panels made from them');
  const lease = registry.acquire('m', '1');
  t.equal(lease.served, first);

  const second = await served(t, '1', { ...explicit, weights: { ...explicit.weights, bias: [1, 1] } });
  registry.install(second);
  t.equal(registry.get('m', '1'), second, 'new requests get the new model at once');
  t.equal(lease.served, first, 'the lease keeps the model it started with');
  t.same(retired, [['m', '1', first]], 'retire listeners hear of the replaced model');
  t.equal(registry.draining, 1);
  t.equal(budget.resident, residentBytes(first) + residentBytes(second), 'both held while the old one drains');
  t.notOk(
    events.some((e) => e.kind === 'unloaded'),
    'not freed while a lease holds it',
  );
  lease.release();
  lease.release();
  t.equal(registry.draining, 0, 'freed by its last lease (released once, however often called)');
  t.equal(budget.resident, residentBytes(second));
  t.same(
    events.map((e) => e.kind),
    ['loaded', 'loaded', 'retired', 'unloaded'],
  );
  t.same(registry.index(), [{ name: 'm', version: '1', state: 'READY', reason: '' }]);
});

t.test('retired versions: UNLOADING while leases run, then unloaded (explicit) or gone (removed)', async (t) => {
  const registry = new ModelRegistry(null, 1);
  const [v1, v2] = [await served(t, '1'), await served(t, '2')];
  registry.install(v1);
  registry.install(v2);
  const lease = registry.acquire('m', '2');
  registry.retire('m', '2', true);
  t.same(registry.entries('m')[1], {
    name: 'm',
    version: '2',
    state: 'UNLOADING',
    reason: 'unloading: finishing its requests',
  });
  t.equal(registry.get('m'), v1, 'the latest READY version serves requests that name none');
  const refused = problem(t, () => registry.acquire('m', '2'));
  t.equal(refused.status, 404);
  t.match(
    refused.message,
    /^model 'm' version 2 is UNLOADING: unloading: finishing its requests \(versions ready: 1\)$/,
  );
  lease.release();
  t.same(registry.entries('m')[1], { name: 'm', version: '2', state: 'UNAVAILABLE', reason: 'unloaded' });

  registry.retire('m', '1', false);
  t.same(
    registry.index().map((e) => e.version),
    ['2'],
    'a removed version without leases leaves the index at once',
  );
  t.same(registry.names(), [], 'no version ready: not among the served names');
  const none = problem(t, () => registry.get('m'));
  t.equal(none.status, 404);
  t.match(none.message, /^model 'm' has no version ready \(2: UNAVAILABLE \(unloaded\)\)$/);
  const unknown = problem(t, () => registry.get('other'));
  t.match(unknown.message, /^there is no model 'other' \(no models are served\)$/);
});

t.test('failed loads: never replace a model that serves; listed with the reason otherwise', async (t) => {
  const registry = new ModelRegistry(null, 1);
  const v1 = await served(t, '1');
  registry.install(v1);
  const broken = new ModelLoadError('m/1/model.json', 'is not valid JSON: Unexpected end', 'models/m/1/model.json');
  registry.failed('m', '1', broken, 'm/1/model.json');
  t.equal(registry.get('m', '1'), v1, 'the last good load keeps serving');
  t.same(registry.entries('m'), [
    {
      name: 'm',
      version: '1',
      state: 'READY',
      reason: 'the last load failed, the model loaded before serves: m/1/model.json: is not valid JSON: Unexpected end',
    },
  ]);
  t.same(registry.skipped(), [], 'it serves: not skipped');

  registry.failed('m', '3', new ModelLoadError('m/3/model.json', 'hiddenSize: is 0'), 'm/3/model.json');
  t.same(registry.skipped(), [
    { name: 'm', version: '3', file: 'm/3/model.json', error: 'm/3/model.json: hiddenSize: is 0' },
  ]);
  const refused = problem(t, () => registry.get('m', '3'));
  t.equal(refused.status, 404);
  t.match(
    refused.message,
    /model 'm' version 3 is UNAVAILABLE: m\/3\/model\.json: hiddenSize: is 0 \(versions ready: 1\)/,
  );
  t.equal(registry.get('m'), v1, 'the latest READY version is 1');

  registry.modelFailed('m', new ModelLoadError('m/config.pbtxt', 'name: is x', 'models/m/config.pbtxt', 3));
  t.same(registry.entries('m')[0], { name: 'm', state: 'UNAVAILABLE', reason: 'm/config.pbtxt:3: name: is x' });
  t.equal(registry.get('m'), v1, 'a broken config.pbtxt leaves the versions loaded before serving');
});

t.test('LOADING: 503 with Retry-After for the version, or for the model when nothing else is ready', async (t) => {
  const registry = new ModelRegistry(null, 4);
  registry.loading('m', '1');
  const waiting = problem(t, () => registry.get('m'));
  t.equal(waiting.status, 503);
  t.same(waiting.headers, { 'retry-after': '4' });
  t.match(waiting.message, /^model 'm' is LOADING: no version is ready yet; retry after 4 s$/);
  const v1 = await served(t, '1');
  registry.install(v1);
  registry.loading('m', '2');
  t.equal(registry.get('m'), v1);
  t.match(problem(t, () => registry.get('m', '2')).message, /^model 'm' version 2 is LOADING; retry after 4 s$/);
  registry.loading('m', '1');
  t.equal(registry.get('m', '1'), v1, 'a version that serves stays READY while it reloads');
});

t.test('memory: a model that does not fit is refused with the reason, and nothing changes', async (t) => {
  const v1 = await served(t, '1', explicit);
  const budget = new MemoryBudget(residentBytes(v1) + 10, 1);
  const registry = new ModelRegistry(budget, 1);
  registry.install(v1);
  const v2 = await served(t, '2', explicit);
  let error: unknown;
  try {
    registry.install(v2);
  } catch (e) {
    error = e;
  }
  t.ok(error instanceof ModelMemoryError);
  t.match(
    (error as Error).message,
    new RegExp(
      `^model 'm' version 2 \\(m/2/model\\.json\\) needs an estimated ${residentBytes(v2)} bytes resident; ${residentBytes(v1)} of the ${residentBytes(v1) + 10} bytes of MEMORY_BUDGET_BYTES are held by 0 request\\(s\\) in flight and ${residentBytes(v1)} by 1 loaded model\\(s\\)$`,
    ),
  );
  t.same(registry.names(), ['m']);
  t.same(
    registry.versions('m').map((s) => s.version),
    ['1'],
  );
  registry.failed('m', '2', error as ModelMemoryError, 'm/2/model.json');
  t.match(registry.entries('m')[1], { version: '2', state: 'UNAVAILABLE', reason: /needs an estimated/ });
  t.equal(budget.resident, residentBytes(v1));
});
