/**
 * The model lifecycle on a real server process over a real socket, the repository changed on disk while clients
 * send requests: in poll mode a new version (renamed into place) serves within a few polls, a broken one is refused
 * while the last good one serves, a removed one leaves the index, and not one request fails; in explicit mode the
 * repository API loads and unloads models through HTTP.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { modelsDir } from '../helpers/models.js';
import { startServer } from '../helpers/server.js';

const model = (seed: number) => ({ format: 'rnn-serve/v1', inputDim: 2, hiddenSize: 3, seed });
const INFER = { inputs: [{ name: 'input', shape: [1, 2, 2], datatype: 'FP32', data: [1, 0, 0, 1] }] };

interface IndexRow {
  name: string;
  version?: string;
  state: string;
  reason: string;
}

async function post(port: number, path: string, body: unknown = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** Waits (polling every 50 ms, at most `seconds`) until `check` is true; returns whether it became so. */
async function until(check: () => Promise<boolean> | boolean, seconds = 30): Promise<boolean> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Clients sending requests until stopped: each answer's status and the version that answered. */
function clients(port: number, count: number) {
  const answers: { path: string; status: number; version: string | null; body: string }[] = [];
  let running = true;
  const paths = ['/v2/models/m/infer', '/models/m/forward', '/v2/models/m/infer'];
  const loops = Array.from({ length: count }, async (_, i) => {
    const path = paths[i % paths.length];
    while (running) {
      const body = path.startsWith('/v2')
        ? INFER
        : {
            inputs: [
              [
                [1, 0],
                [0, 1],
              ],
            ],
          };
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        const version = res.status === 200 && path.startsWith('/v2') ? JSON.parse(text).model_version : null;
        answers.push({ path, status: res.status, version, body: text.slice(0, 300) });
      } catch (error) {
        answers.push({ path, status: 0, version: null, body: String(error) });
      }
    }
  });
  return {
    answers,
    /** Versions that answered latest-version requests since answer `from`. */
    versionsSince: (from: number) =>
      new Set(
        answers
          .slice(from)
          .map((a) => a.version)
          .filter((v) => v !== null),
      ),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

t.test('poll mode: versions added, broken and removed under load, and not one request fails', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1) });
  const server = await startServer(t, {
    MODELS_DIR: dir,
    MODEL_CONTROL_MODE: 'poll',
    MODEL_POLL_SECONDS: '0.2',
    MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const index = async (): Promise<IndexRow[]> => (await post(server.port, '/v2/repository/index')).json;
  const load = clients(server.port, 6);
  t.teardown(() => load.stop());
  t.ok(await until(() => load.answers.length > 20), 'the clients are answered');
  t.same(load.versionsSince(0), new Set(['1']));

  // A new version, written elsewhere and renamed into place.
  mkdirSync(join(dir, '.incoming'));
  writeFileSync(join(dir, '.incoming', 'model.json'), JSON.stringify(model(2)));
  renameSync(join(dir, '.incoming'), join(dir, 'm', '2'));
  t.ok(
    await until(() => load.versionsSince(load.answers.length - 6).has('2')),
    'version 2 serves the requests that name no version, within a few polls',
  );
  const afterTwo = load.answers.length;

  // A broken version, written in place: refused, and version 2 keeps serving.
  mkdirSync(join(dir, 'm', '3'));
  writeFileSync(join(dir, 'm', '3', 'model.json'), JSON.stringify({ ...model(3), hiddenSize: 'three' }));
  t.ok(
    await until(async () => (await index()).some((row) => row.version === '3' && row.state === 'UNAVAILABLE')),
    'version 3 is listed UNAVAILABLE',
  );
  const rows = await index();
  t.match(
    rows.find((row) => row.version === '3'),
    { reason: /^m\/3\/model\.json: hiddenSize: / },
  );
  t.ok(await until(() => load.answers.length > afterTwo + 30), 'requests go on');
  t.same(load.versionsSince(afterTwo), new Set(['2']), 'the last good version answers');

  // A version written in place in two halves, 50 ms apart: never read half-written (the file rule).
  const seen = new Set<string>();
  const watch = setInterval(() => {
    void index().then((rows) => {
      for (const row of rows) if (row.version === '4') seen.add(row.state);
    });
  }, 20);
  const text = JSON.stringify(model(4));
  mkdirSync(join(dir, 'm', '4'));
  writeFileSync(join(dir, 'm', '4', 'model.json'), text.slice(0, 25));
  await new Promise((r) => setTimeout(r, 50));
  writeFileSync(join(dir, 'm', '4', 'model.json'), text);
  t.ok(await until(() => load.versionsSince(load.answers.length - 6).has('4')), 'version 4 serves');
  clearInterval(watch);
  t.notOk(seen.has('UNAVAILABLE'), `version 4 was never refused (states seen: ${[...seen].join(', ')})`);

  // The oldest version removed: it leaves the index.
  rmSync(join(dir, 'm', '1'), { recursive: true });
  t.ok(
    await until(async () => !(await index()).some((row) => row.version === '1')),
    'version 1 is retired once two polls agree it is gone',
  );
  const before = load.answers.length;
  t.ok(await until(() => load.answers.length > before + 30), 'requests go on');
  await load.stop();

  const failed = load.answers.filter((a) => a.status !== 200);
  t.same(failed, [], `not one of ${load.answers.length} requests failed`);
  t.ok(load.answers.length > 100, `${load.answers.length} requests during the changes`);
  t.same(
    (await index()).map((row) => [row.version, row.state]),
    [
      ['2', 'READY'],
      ['3', 'UNAVAILABLE'],
      ['4', 'READY'],
    ],
  );
  const logs = server.logs.map((line) => String(line.msg));
  t.ok(logs.includes("model loaded: 'm' version 2"), 'the load is logged');
  t.ok(
    logs.some((msg) => msg.startsWith('model load failed: m/3/model.json: hiddenSize')),
    'the failure is logged',
  );
  const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  t.match(metrics, /rnn_model_loads_total\{model="m",version="3",outcome="failed"\} 1/);
  t.match(metrics, /rnn_model_unloads_total\{model="m",version="1"\} 1/);
  t.match(metrics, /rnn_model_state\{model="m",version="4",state="READY"\} 1/);
  t.notMatch(metrics, /rnn_model_loads_total\{model="m",version="4",outcome="failed"\}/, 'no failed load of version 4');
});

t.test('explicit mode: load and unload through HTTP', async (t) => {
  const dir = modelsDir(t, { 'm/1/model.json': model(1), 'm/config.pbtxt': 'max_batch_size: 8\n' });
  const server = await startServer(t, { MODELS_DIR: dir, MODEL_CONTROL_MODE: 'explicit', MODELS_LOAD: '' });
  const { port } = server;
  t.same((await post(port, '/v2/repository/index')).json, [
    { name: 'm', state: 'UNAVAILABLE', reason: 'not loaded (POST /v2/repository/models/{name}/load)' },
  ]);
  t.equal((await post(port, '/v2/models/m/infer', INFER)).status, 404);
  t.same(await post(port, '/v2/repository/models/m/load'), { status: 200, json: {} });
  const answer = await post(port, '/v2/models/m/infer', INFER);
  t.equal(answer.status, 200);
  t.equal(answer.json.model_version, '1');

  writeFileSync(join(dir, 'm', 'config.pbtxt'), 'max_batch_size: 8\ninput [{ name: "input" dims: [ -1, 3 ] }]\n');
  const refused = await post(port, '/v2/repository/models/m/load');
  t.equal(refused.status, 400);
  t.match(
    refused.json.error,
    /^failed to load 'm': m\/config\.pbtxt:2: input\[0\]\.dims\[1\]: is 3, but the model's input 'input' has 2 there/,
  );
  t.equal((await post(port, '/v2/models/m/infer', INFER)).status, 200, 'the version loaded before serves');

  t.same(await post(port, '/v2/repository/models/m/unload', { parameters: { unload_dependents: false } }), {
    status: 200,
    json: {},
  });
  t.same((await post(port, '/v2/repository/index')).json, [
    { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
  ]);
  const gone = await post(port, '/v2/models/m/infer', INFER);
  t.equal(gone.status, 404);
  t.match(gone.json.error, /model 'm' has no version ready \(1: UNAVAILABLE \(unloaded\)\)/);
});
