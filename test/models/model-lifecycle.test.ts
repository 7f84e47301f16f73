/**
 * The repository following MODELS_DIR, one poll at a time (`repository.poll()`, what each tick of
 * MODEL_POLL_SECONDS runs): versions added, changed and removed are loaded, swapped and retired once two scans in a
 * row agree on their files (a file written in two halves is not read half-written); a broken version is refused
 * while the last good one serves; config.pbtxt's version policy decides which versions serve; explicit mode loads
 * and unloads only when asked; MODELS_ON_ERROR keeps its start-up meaning.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../src/config/config.js';
import type { ProblemError } from '../../src/errors/problem-error.js';
import { SeededWeightsCache } from '../../src/inference/weights-cache.js';
import {
  ModelLoadError,
  type ModelRepository,
  type RegistryEvent,
  loadRepository,
} from '../../src/models/repository.js';
import { MemoryBudget } from '../../src/runtime/memory-budget.js';
import { modelsDir } from '../helpers/models.js';

const model = (seed: number) => ({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed });
const limits = defaultConfig.limits;

async function repositoryOf(
  t: Parameters<typeof modelsDir>[0],
  dir: string,
  settings: Partial<Parameters<typeof loadRepository>[0]> = {},
  memory: MemoryBudget | null = null,
): Promise<{ repository: ModelRepository; events: RegistryEvent[] }> {
  const repository = await loadRepository(
    { dir, onError: 'skip', control: 'poll', pollSeconds: 60, ...settings },
    limits,
    new SeededWeightsCache(4),
    { memory },
  );
  t.teardown(() => repository.close());
  const events: RegistryEvent[] = [];
  repository.onEvent((event) => events.push(event));
  return { repository, events };
}

function write(dir: string, path: string, content: object | string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), typeof content === 'string' ? content : JSON.stringify(content));
}

const versions = (repository: ModelRepository, name = 'm') => repository.versions(name).map((s) => s.version);
const states = (repository: ModelRepository) =>
  repository.states().map((e) => [e.name, e.version ?? '', e.state, e.reason === '' ? '' : 'reason']);

t.test('poll: a new version serves after two scans agree; a removed one goes after two scans', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const { repository, events } = await repositoryOf(t, dir);
  t.same(versions(repository), ['1']);
  write(dir, 'm/2/model.json', model(2));
  await repository.poll();
  t.same(versions(repository), ['1'], 'first seen: not read yet');
  await repository.poll();
  t.same(versions(repository), ['1', '2'], 'seen the same twice: loaded (no config.pbtxt: every version serves)');
  t.equal(repository.get('m').version, '2', 'the latest');
  rmSync(join(dir, 'm', '1'), { recursive: true });
  await repository.poll();
  t.same(versions(repository), ['1', '2'], 'missing once: kept');
  await repository.poll();
  t.same(versions(repository), ['2'], 'missing twice: retired');
  t.same(
    events.map((e) => `${e.kind} ${e.version}`),
    ['loaded 2', 'retired 1', 'unloaded 1'],
  );
  rmSync(join(dir, 'm'), { recursive: true });
  await repository.poll();
  await repository.poll();
  t.same(repository.names(), [], 'a model directory removed: its versions go');
  t.same(repository.states(), []);
});

t.test('the file rule: a model.json written in two halves is not read half-written', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const { repository, events } = await repositoryOf(t, dir);
  const text = JSON.stringify(model(2));
  write(dir, 'm/2/model.json', text.slice(0, 20));
  await repository.poll();
  writeFileSync(join(dir, 'm/2/model.json'), text);
  await repository.poll();
  t.same(versions(repository), ['1'], 'changed since the last scan: waiting');
  await repository.poll();
  t.same(versions(repository), ['1', '2']);
  t.notOk(
    events.some((e) => e.kind === 'load-failed'),
    'the half file was never read',
  );

  // The rule has a limit, stated in the docs: a half file left alone for a whole poll is read, and refused.
  write(dir, 'm/3/model.json', text.slice(0, 20));
  await repository.poll();
  await repository.poll();
  t.match(repository.entries('m')[2], {
    version: '3',
    state: 'UNAVAILABLE',
    reason: /m\/3\/model\.json: is not valid JSON/,
  });
  writeFileSync(join(dir, 'm/3/model.json'), text);
  await repository.poll();
  await repository.poll();
  t.same(versions(repository), ['1', '2', '3'], 'finished: loaded at the next two polls');
});

t.test('a broken version is refused while the last good one serves; fixing it swaps it in', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const { repository } = await repositoryOf(t, dir);
  const good = repository.get('m', '1');
  const lease = repository.acquire('m');
  writeFileSync(join(dir, 'm/1/model.json'), JSON.stringify({ ...model(1), hiddenSize: 0 }));
  await repository.poll();
  await repository.poll();
  t.equal(repository.get('m', '1'), good, 'still the model loaded before');
  t.match(repository.entries('m'), [
    {
      version: '1',
      state: 'READY',
      reason: /^the last load failed, the model loaded before serves: m\/1\/model\.json: hiddenSize/,
    },
  ]);
  writeFileSync(join(dir, 'm/1/model.json'), JSON.stringify(model(7)));
  await repository.poll();
  await repository.poll();
  const fixed = repository.get('m', '1');
  t.not(fixed, good, 'the fixed files are served');
  t.equal((fixed as { model: { seed: number } }).model.seed, 7);
  t.same(repository.entries('m'), [{ name: 'm', version: '1', state: 'READY', reason: '' }]);
  t.equal(lease.served, good, 'a request holding the old model finishes on it');
  lease.release();
});

t.test(
  'config.pbtxt: version policy, the latest N by default, a broken file leaves the versions serving',
  async (t) => {
    const dir = modelsDir(t, { 'm/1/model.json': model(1), 'm/2/model.json': model(2), 'm/3/model.json': model(3) });
    const { repository } = await repositoryOf(t, dir);
    t.same(versions(repository), ['1', '2', '3'], 'no config.pbtxt: every version');
    write(dir, 'm/config.pbtxt', 'name: "m"\n');
    await repository.poll();
    t.same(versions(repository), ['1', '2', '3'], 'a new config.pbtxt waits for the next scan');
    await repository.poll();
    t.same(versions(repository), ['3'], "a config.pbtxt without version_policy: Triton's default, the latest");
    t.equal(repository.get('m').config.source, 'm/config.pbtxt');
    writeFileSync(join(dir, 'm/config.pbtxt'), 'version_policy: { specific: { versions: [ 1, 3, 9 ] } }');
    await repository.poll();
    await repository.poll();
    t.same(versions(repository), ['1', '3']);
    t.match(
      repository.entries('m').find((e) => e.version === '9'),
      {
        state: 'UNAVAILABLE',
        reason: 'm/9: is named by version_policy, but there is no such version directory',
      },
    );
    writeFileSync(
      join(dir, 'm/config.pbtxt'),
      'version_policy: { latest: { num_versions: 2 } }\nmax_batch_size: "x"\n',
    );
    await repository.poll();
    await repository.poll();
    t.same(versions(repository), ['1', '3'], 'a broken config.pbtxt: the versions loaded before keep serving');
    t.match(repository.entries('m')[0], {
      state: 'UNAVAILABLE',
      reason: 'm/config.pbtxt:2: max_batch_size: expected an int32; got a string (values of this field are not quoted)',
    });
    writeFileSync(join(dir, 'm/config.pbtxt'), 'version_policy: { latest: { num_versions: 2 } }\n');
    await repository.poll();
    await repository.poll();
    t.same(versions(repository), ['2', '3']);
    t.equal(repository.entries('m')[0].version, '2', 'the model failure is cleared');
  },
);

t.test(
  'a broken new version never leaves the model without one: the policy applies once a selected one serves',
  async (t) => {
    const dir = modelsDir(t, {
      'm/config.pbtxt': 'version_policy: { latest: { num_versions: 1 } }',
      'm/1/model.json': model(1),
    });
    const { repository } = await repositoryOf(t, dir);
    write(dir, 'm/2/model.json', '{"format": "rnn-serve/v1"');
    await repository.poll();
    await repository.poll();
    t.same(versions(repository), ['1'], 'version 2 is selected but broken: 1 keeps serving');
    t.same(states(repository), [
      ['m', '1', 'READY', ''],
      ['m', '2', 'UNAVAILABLE', 'reason'],
    ]);
    writeFileSync(join(dir, 'm/2/model.json'), JSON.stringify(model(2)));
    await repository.poll();
    await repository.poll();
    t.same(versions(repository), ['2'], 'fixed: 2 serves and 1 is retired');
  },
);

t.test('a version renamed into place is loaded whole', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const { repository, events } = await repositoryOf(t, dir);
  write(dir, '.staging/model.json', model(2));
  renameSync(join(dir, '.staging'), join(dir, 'm', '2'));
  await repository.poll();
  await repository.poll();
  t.same(versions(repository), ['1', '2']);
  t.same(
    events.map((e) => e.kind),
    ['loaded'],
  );
});

t.test(
  'memory: a version that does not fit is UNAVAILABLE with the reason, and tried again at each poll',
  async (t) => {
    const explicit = (bias: number) => ({
      format: 'rnn-serve/v1',
      inputDim: 64,
      hiddenSize: 64,
      weights: {
        kernel: Array.from({ length: 64 }, () => Array(64).fill(0.01)),
        recurrentKernel: Array.from({ length: 64 }, () => Array(64).fill(0.01)),
        bias: Array(64).fill(bias),
      },
    });
    const dir = modelsDir(t, { 'a/1/model.json': explicit(0) });
    // Room for one such model (~100 KB resident) and not two.
    const budget = new MemoryBudget(150_000, 1);
    const { repository, events } = await repositoryOf(t, dir, {}, budget);
    t.same(repository.names(), ['a']);
    write(dir, 'b/1/model.json', explicit(1));
    await repository.poll();
    await repository.poll();
    t.same(repository.names(), ['a'], 'b does not fit beside a');
    t.match(repository.entries('b'), [
      {
        version: '1',
        state: 'UNAVAILABLE',
        reason:
          /^model 'b' version 1 \(b\/1\/model\.json\) needs an estimated \d+ bytes resident; \d+ of the 150000 bytes of MEMORY_BUDGET_BYTES are held by 0 request\(s\) in flight and \d+ by 1 loaded model\(s\)$/,
      },
    ]);
    t.match(events.at(-1), { kind: 'load-failed', name: 'b', outcome: 'no_memory' });
    rmSync(join(dir, 'a'), { recursive: true });
    await repository.poll();
    await repository.poll();
    t.same(repository.names(), ['b'], 'a removed and freed: b fits, at the next poll, though its files did not change');
  },
);

t.test('a failure that does not change is told once, however many polls find it', async (t) => {
  const dir = modelsDir(t, {
    'm/1/model.json': model(1),
    'm/x/model.json': model(2),
    'm/2/model.json': '{',
    'n/config.pbtxt': 'name: 5',
    'n/1/model.json': model(3),
  });
  const { repository, events } = await repositoryOf(t, dir);
  for (let i = 0; i < 4; i++) await repository.poll();
  t.same(events, [], 'the failures of start-up are not told again');
  writeFileSync(join(dir, 'n/config.pbtxt'), 'name: 6');
  for (let i = 0; i < 4; i++) await repository.poll();
  t.same(
    events.map((e) => e.kind === 'load-failed' && e.reason),
    ['n/config.pbtxt:1: name: expected a string in quotes; got 6'],
    'a new failure is told once',
  );
});

t.test('explicit mode: models change only when asked; the index lists what is not loaded', async (t) => {
  const dir = modelsDir(t, { 'a/1/model.json': model(1), 'b/1/model.json': model(2), 'c/1/model.json': '{' });
  const { repository } = await repositoryOf(t, dir, { control: 'explicit', startupModels: ['a'] });
  t.same(repository.names(), ['a'], 'MODELS_LOAD: the models loaded at start-up');
  t.same(await repository.index(), [
    { name: 'a', version: '1', state: 'READY', reason: '' },
    { name: 'b', state: 'UNAVAILABLE', reason: 'not loaded (POST /v2/repository/models/{name}/load)' },
    { name: 'c', state: 'UNAVAILABLE', reason: 'not loaded (POST /v2/repository/models/{name}/load)' },
  ]);
  await repository.load('b');
  t.same(repository.names(), ['a', 'b']);
  t.same(await repository.index(true), [
    { name: 'a', version: '1', state: 'READY', reason: '' },
    { name: 'b', version: '1', state: 'READY', reason: '' },
  ]);
  const failed = await repository.load('c').then(
    () => null,
    (e: ProblemError) => e,
  );
  t.equal(failed?.status, 400);
  t.match(failed?.message, /^failed to load 'c': c\/1\/model\.json: is not valid JSON/);
  const missing = await repository.load('zz').then(
    () => null,
    (e: ProblemError) => e,
  );
  t.equal(missing?.status, 404);
  t.match(
    missing?.message,
    /^failed to load 'zz': there is no model directory 'zz' in the repository \(models: a, b, c\)$/,
  );

  const lease = repository.acquire('a');
  await repository.unload('a');
  t.same(repository.entries('a'), [
    { name: 'a', version: '1', state: 'UNLOADING', reason: 'unloading: finishing its requests' },
  ]);
  t.match(
    (() => {
      try {
        repository.get('a');
      } catch (e) {
        return (e as Error).message;
      }
    })(),
    /model 'a' has no version ready \(1: UNLOADING/,
  );
  lease.release();
  t.same(repository.entries('a'), [{ name: 'a', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' }]);
  await repository.load('a');
  t.same(versions(repository, 'a'), ['1'], 'loaded again');

  // The configuration of a load request replaces config.pbtxt for that load.
  write(dir, 'b/2/model.json', model(3));
  await repository.load('b', JSON.stringify({ version_policy: { specific: { versions: ['1'] } }, max_batch_size: 4 }));
  t.same(versions(repository, 'b'), ['1']);
  t.equal(repository.get('b').config.maxBatchSize, 4);
  await repository.load('b');
  t.same(versions(repository, 'b'), ['1', '2'], 'without it: config.pbtxt (none here: every version)');
  const badConfig = await repository.load('b', '{"name": "other"}').then(
    () => null,
    (e: ProblemError) => e,
  );
  t.match(
    badConfig?.message,
    /^failed to load 'b': parameters\.config: name: is 'other', but the model's directory is 'b'/,
  );
  t.same(versions(repository, 'b'), ['1', '2'], 'a refused configuration changes nothing');
});

t.test('load and unload are refused outside explicit mode, in Triton words', async (t) => {
  for (const control of ['none', 'poll'] as const) {
    const { repository } = await repositoryOf(t, modelsDir(t, { 'm/1/model.json': model(1) }), { control });
    for (const action of [() => repository.load('m'), () => repository.unload('m')]) {
      const error = await action().then(
        () => null,
        (e: ProblemError) => e,
      );
      t.equal(error?.status, 503);
      t.match(error?.message, /explicit model load \/ unload is not allowed: MODEL_CONTROL_MODE is (none|poll)/);
    }
  }
});

t.test('MODELS_ON_ERROR keeps its start-up meaning in every mode', async (t) => {
  for (const control of ['none', 'poll', 'explicit'] as const) {
    const dir = modelsDir(t, { 'ok/1/model.json': model(1), 'bad/1/model.json': { ...model(1), hiddenSize: -1 } });
    const failed = await loadRepository({ dir, onError: 'fail', control }, limits, new SeededWeightsCache(0)).then(
      (r) => r.close().then(() => null),
      (e: unknown) => e,
    );
    t.ok(failed instanceof ModelLoadError, `${control}, fail: start-up stops`);
    t.match((failed as Error).message, new RegExp(`^${dir}/bad/1/model\\.json: hiddenSize`));
    const { repository } = await repositoryOf(t, dir, { control, onError: 'skip' });
    t.same(repository.names(), ['ok'], `${control}, skip: served without it`);
    t.same(
      repository.skipped.map((s) => s.file),
      ['bad/1/model.json'],
    );
  }
  const dir = modelsDir(t, { 'ok/1/model.json': model(1) });
  const named = await loadRepository(
    { dir, onError: 'fail', control: 'explicit', startupModels: ['ok', 'nope'] },
    limits,
    new SeededWeightsCache(0),
  ).then(
    (r) => r.close().then(() => null),
    (e: unknown) => e,
  );
  t.match((named as Error).message, /nope: is named by MODELS_LOAD, but there is no such model directory/);
});
