/**
 * Stateful sequences across real processes sharing a real Redis: a redis-server this test starts (Debian's package;
 * `.ci/run` installs it) and server processes (`src/main.ts`, test/helpers/server.ts) with REDIS_URL pointing at it,
 * serving the shipped `hello` (SimpleRNN) and an LSTM. Everything through HTTP, as clients send it:
 *   - the chunks of a sequence alternating between two replicas answer what the sequence answers whole, bit for bit
 *     (our route with JSON, the inference protocol with binary tensors; integer and string ids; eight sequences
 *     interleaved, their chunks sent at once to both replicas);
 *   - a replica killed with SIGKILL mid-sequence: the other carries the sequence on;
 *   - the idle limit is the key's expiry: past it, the next chunk gets the 400 of a sequence never started;
 *   - two chunks of one sequence racing on the two replicas: one is applied, the other gets 409 naming the steps,
 *     and the next chunk continues from the applied one's state (Redis's writes are paused, CLIENT PAUSE WRITE,
 *     until both replicas hold theirs back: both read the sequence at the same step);
 *   - Redis stopped (SIGKILL, then SIGTERM): stateless requests still 200, sequence requests 503 + Retry-After,
 *     /readyz 200 with `sequences.ready: false` and the reason, `rnn_sequence_store_up 0`; Redis started again on
 *     the same port: sequence requests work again without restarting the servers. This Redis has no persistence,
 *     so the sequences begun before it stopped are gone (their next chunk is told to start them again).
 */
import { cpSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { SHIPPED_MODELS } from '../helpers/build.js';
import { sample } from '../helpers/metrics.js';
import { modelsDir } from '../helpers/models.js';
import { type RedisServer, redisServerMissing, startRedisServer } from '../helpers/redis-server.js';
import { type Server, startServer } from '../helpers/server.js';

const missing = redisServerMissing();
const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
/** The keys' prefix: the default REDIS_KEY_PREFIX. */
const PREFIX = 'rnn-serve:seq:';
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (up to `ms`) until `condition` holds. */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${ms} ms`);
    await delay(25);
  }
}

// --- HTTP, as clients send it ----------------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One POST (or GET without a body) on its own connection. */
function call(port: number, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (reply: Reply) => JSON.parse(reply.body.toString('utf8'));

/** POST /models/{model}/forward with a JSON body. */
async function forward(server: Server, model: string, body: object) {
  const reply = await call(server.port, 'POST', `/models/${model}/forward`, Buffer.from(JSON.stringify(body)), {
    'content-type': 'application/json',
  });
  return { ...reply, json: json(reply) };
}

/** A forward body for one chunk of sequence `id` (none: the stateless request). */
function chunkBody(steps: readonly number[][], id?: number | string, start = false, end = false): object {
  return {
    inputs: [steps],
    outputFormat: 'flat',
    ...(id === undefined ? {} : { sequenceId: id, sequenceStart: start, sequenceEnd: end }),
  };
}

/**
 * POST /v2/models/{model}/infer with the binary tensor data extension both ways, as Triton's clients send it (no
 * Content-Type, the JSON's length in Inference-Header-Content-Length). `id` is written into the JSON as it is
 * given: digits (`18446744073709551615`, past what a JavaScript number holds) or a quoted string.
 */
async function inferBinary(
  server: Server,
  model: string,
  steps: readonly number[][],
  sequence?: { id: string; start: boolean; end: boolean },
) {
  const values = Float32Array.from(steps.flat());
  const control =
    sequence === undefined
      ? ''
      : `"sequence_id":${sequence.id},"sequence_start":${sequence.start},"sequence_end":${sequence.end},`;
  const header = Buffer.from(
    `{"inputs":[{"name":"input","shape":[1,${steps.length},${steps[0].length}],"datatype":"FP32",` +
      `"parameters":{"binary_data_size":${values.byteLength}}}],"parameters":{${control}"binary_data_output":true}}`,
  );
  const reply = await call(
    server.port,
    'POST',
    `/v2/models/${model}/infer`,
    Buffer.concat([header, Buffer.from(values.buffer)]),
    { 'inference-header-content-length': String(header.length) },
  );
  if (reply.status !== 200) return { ...reply, tensors: new Map<string, Buffer>() };
  const length = Number(reply.headers['inference-header-content-length']);
  const answer = JSON.parse(reply.body.subarray(0, length).toString('utf8')) as {
    outputs: { name: string; parameters: { binary_data_size: number } }[];
  };
  // Each output's bytes as they came: compared byte for byte, every float32's bits.
  const tensors = new Map<string, Buffer>();
  let at = length;
  for (const output of answer.outputs) {
    tensors.set(output.name, reply.body.subarray(at, at + output.parameters.binary_data_size));
    at += output.parameters.binary_data_size;
  }
  return { ...reply, tensors };
}

/** A sequence `n` steps long, values that are not round in binary. */
const steps = (n: number, features: number, seed: number) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: features }, (_, f) => Math.fround(Math.sin(seed * 13 + i * 7 + f) * 1.5)),
  );

/** `sequence` cut into chunks of these sizes. */
function chunks<T>(sequence: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(sequence.slice(at, at + size));
    at += size;
  }
  if (at !== sequence.length) throw new Error(`chunk sizes add up to ${at}, not ${sequence.length}`);
  return out;
}

async function metrics(server: Server): Promise<string> {
  return (await call(server.port, 'GET', '/metrics')).body.toString('utf8');
}

async function readiness(server: Server) {
  const reply = await call(server.port, 'GET', '/readyz');
  return { status: reply.status, json: json(reply) };
}

// --- the processes ---------------------------------------------------------------------------------------------

/** hello (shipped, SimpleRNN 4 → 3) and lstm (TF.js, LSTM 3 → 4): a repository every server of the test serves. */
function repository(t: Test): string {
  const dir = modelsDir(t, {});
  cpSync(join(SHIPPED_MODELS, 'hello'), join(dir, 'hello'), { recursive: true });
  cpSync(join(FIXTURES, 'tfjs-gated/lstm-state'), join(dir, 'lstm', '1'), { recursive: true });
  return dir;
}

/** A server on `redis`, once its sequence store is connected. */
async function replica(t: Test, dir: string, redis: RedisServer, env: Record<string, string> = {}): Promise<Server> {
  const server = await startServer(t, {
    MODELS_DIR: dir,
    REDIS_URL: redis.url,
    // Redis's writes are paused for a moment in the race below: well within this.
    REDIS_TIMEOUT_MS: '5000',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
  await until(async () => (await readiness(server)).json.sequences?.ready === true, 'connected to Redis');
  return server;
}

// --- the checks ------------------------------------------------------------------------------------------------

const MODELS = [
  { model: 'hello', features: 4 },
  { model: 'lstm', features: 3 },
] as const;

/**
 * A sequence sent whole (to `servers[0]`, stateless), then in chunks of `sizes` over our route, chunk i to
 * servers[i % servers.length]: every output step and the final states are the whole sequence's, bit for bit.
 */
async function routeChunksEqualWhole(
  t: Test,
  servers: readonly Server[],
  model: string,
  sequence: number[][],
  sizes: readonly number[],
  id: number | string,
): Promise<void> {
  const whole = await forward(servers[0], model, chunkBody(sequence));
  t.equal(whole.status, 200);
  const outputs: number[] = [];
  const parts = chunks(sequence, sizes);
  let last: Record<string, unknown> = {};
  for (const [i, part] of parts.entries()) {
    const answer = await forward(
      servers[i % servers.length],
      model,
      chunkBody(part, id, i === 0, i === parts.length - 1),
    );
    t.equal(
      answer.status,
      200,
      `chunk ${i}${answer.status === 200 ? '' : `: ${answer.body.toString().slice(0, 300)}`}`,
    );
    outputs.push(...answer.json.outputs.data);
    last = answer.json;
  }
  t.same(outputs, whole.json.outputs.data, `${model} ${JSON.stringify(id)}: every output step, bit for bit`);
  t.same(last.states, whole.json.states, `${model} ${JSON.stringify(id)}: the final state`);
  t.same(last.cellStates, whole.json.cellStates, `${model} ${JSON.stringify(id)}: the final cell state`);
}

/** The same over the inference protocol with binary tensors; the outputs' bytes compared. */
async function binaryChunksEqualWhole(
  t: Test,
  servers: readonly Server[],
  model: string,
  sequence: number[][],
  sizes: readonly number[],
  id: string,
): Promise<void> {
  const whole = await inferBinary(servers[0], model, sequence);
  t.equal(whole.status, 200);
  const parts = chunks(sequence, sizes);
  const outputs: Buffer[] = [];
  let last = whole.tensors;
  for (const [i, part] of parts.entries()) {
    const answer = await inferBinary(servers[i % servers.length], model, part, {
      id,
      start: i === 0,
      end: i === parts.length - 1,
    });
    t.equal(
      answer.status,
      200,
      `chunk ${i}${answer.status === 200 ? '' : `: ${answer.body.toString().slice(0, 300)}`}`,
    );
    outputs.push(answer.tensors.get('output') ?? Buffer.alloc(0));
    last = answer.tensors;
  }
  t.ok(Buffer.concat(outputs).equals(whole.tensors.get('output')!), `${model} ${id}: the output's bytes`);
  const states = [...whole.tensors.keys()].filter((name) => name !== 'output');
  t.same(states, model === 'lstm' ? ['state', 'cell_state'] : ['state']);
  for (const name of states) t.ok(last.get(name)?.equals(whole.tensors.get(name)!), `${model} ${id}: ${name}'s bytes`);
}

t.test('sequences across replicas sharing a real Redis', { skip: missing ?? false }, async (t) => {
  const redis = await startRedisServer(t);
  const dir = repository(t);
  let [a, b] = await Promise.all([replica(t, dir, redis), replica(t, dir, redis)]);
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  // While Redis is stopped, this client's reconnection errors are expected.
  admin.on('error', () => {});
  t.teardown(() => admin.disconnect());
  // Processes started in a subtest live as long as this test.
  const suite = t;

  await t.test('chunks alternating between the replicas answer what the sequence answers whole', async (t) => {
    for (const { model, features } of MODELS) {
      const sequence = steps(12, features, model.length);
      await routeChunksEqualWhole(t, [a, b], model, sequence, [2, 1, 3, 1, 4, 1], 42);
      await routeChunksEqualWhole(t, [b, a], model, sequence, [5, 7], `user-7:${model}`);
      await binaryChunksEqualWhole(t, [a, b], model, sequence, [1, 1, 4, 6], '18446744073709551615');
      await binaryChunksEqualWhole(t, [b, a], model, sequence, [3, 3, 3, 3], '"chunks in binary"');
    }
    t.same(
      (await admin.keys(`${PREFIX}*`)).sort(),
      [],
      'every sequence ended with its last chunk: no state is left in Redis',
    );
  });

  await t.test('eight sequences interleaved, each round of chunks sent at once to both replicas', async (t) => {
    for (const { model, features } of MODELS) {
      const sequences = Array.from({ length: 8 }, (_, s) => steps(9, features, 100 + s));
      const wholes = await Promise.all(sequences.map((sequence) => inferBinary(a, model, sequence)));
      const outputs: Buffer[][] = sequences.map(() => []);
      const finals: Map<string, Buffer>[] = [];
      // Three chunks of three steps; sequence s's chunk r goes to one replica or the other, all of a round at once.
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(
          sequences.map((sequence, s) =>
            inferBinary((round + s) % 2 === 0 ? a : b, model, sequence.slice(round * 3, round * 3 + 3), {
              id: String(1000 + s),
              start: round === 0,
              end: round === 2,
            }),
          ),
        );
        answers.forEach((answer, s) => {
          t.equal(answer.status, 200, `${model}: sequence ${s}, round ${round}`);
          outputs[s].push(answer.tensors.get('output') ?? Buffer.alloc(0));
          if (round === 2) finals[s] = answer.tensors;
        });
      }
      sequences.forEach((_, s) => {
        t.ok(Buffer.concat(outputs[s]).equals(wholes[s].tensors.get('output')!), `${model}: sequence ${s}'s outputs`);
        for (const [name, bytes] of wholes[s].tensors)
          if (name !== 'output') t.ok(finals[s].get(name)?.equals(bytes), `${model}: sequence ${s}'s ${name}`);
      });
    }
  });

  await t.test('two chunks of one sequence racing on the two replicas: one applied, the other 409', async (t) => {
    const sequence = steps(7, 4, 7);
    const [first, x, y, next] = chunks(sequence, [2, 2, 2, 1]);
    const width = 3;
    const conflicts = async () => {
      const counts = await Promise.all(
        [a, b].map(async (s) => sample(await metrics(s), 'rnn_sequences_refused_total', 'reason="conflict"') ?? 0),
      );
      return counts[0] + counts[1];
    };
    // The outputs of `part` run from the state `before` left: the whole sequence's, sliced.
    const outputsAfter = async (before: number[][], part: number[][]) =>
      (await forward(a, 'hello', chunkBody([...before, ...part]))).json.outputs.data.slice(before.length * width);

    // Redis's writes wait (reads go on) until both replicas hold a write back, each after its read of the sequence:
    // both read it at the same step, then both write, as two replicas racing do. A replica's own write caught by the
    // pause (its sweep, every second) may hold its read back behind it; the chunks then ran one after the other,
    // which must show (no update lost), and the race is run again on a new sequence.
    let race: {
      id: string;
      onA: Awaited<ReturnType<typeof forward>>;
      onB: Awaited<ReturnType<typeof forward>>;
    } | null = null;
    for (let attempt = 1; race === null && attempt <= 5; attempt++) {
      const id = `race-${attempt}`;
      t.equal((await forward(a, 'hello', chunkBody(first, id, true))).status, 200, 'the sequence starts');
      const before = await conflicts();
      await admin.call('CLIENT', 'PAUSE', '5000', 'WRITE');
      const racing = [forward(a, 'hello', chunkBody(x, id)), forward(b, 'hello', chunkBody(y, id))];
      try {
        await until(async () => {
          const clients = String(await admin.call('CLIENT', 'LIST')).split('\n');
          return clients.filter((c) => /\bflags=\w*b/.test(c) && /\bcmd=evalsha\b/.test(c)).length === 2;
        }, 'holding a write back on both replicas');
      } finally {
        await admin.call('CLIENT', 'UNPAUSE');
      }
      const [onA, onB] = await Promise.all(racing);
      if (onA.status === 200 && onB.status === 200) {
        const [xAlone, yAlone] = await Promise.all([outputsAfter(first, x), outputsAfter(first, y)]);
        const bothFromStart =
          onA.json.outputs.data.join() === xAlone.join() && onB.json.outputs.data.join() === yAlone.join();
        t.notOk(bothFromStart, 'both applied: one after the other, never both from the same state (a lost update)');
        t.comment(`attempt ${attempt}: a replica's read waited behind its own write; the chunks ran in turn`);
        t.equal(await conflicts(), before);
        continue;
      }
      race = { id, onA, onB };
      t.equal((await conflicts()) - before, 1, 'one conflict counted, by the replica that refused');
    }
    if (race === null) throw new Error('no race in 5 attempts');
    const { id, onA, onB } = race;
    t.same([onA.status, onB.status].sort(), [200, 409], 'one chunk is applied, the other refused');
    const [winner, loser, loserServer, applied] = onA.status === 200 ? [onA, onB, b, x] : [onB, onA, a, y];
    t.match(loser.headers['content-type'], /^application\/problem\+json/);
    t.match(loser.json, {
      status: 409,
      type: 'urn:rnn-serve:problem:sequence-conflict',
      detail: new RegExp(
        `^sequence "${id}" of model "hello" is at step 2, not step 1 as when this request read it: another request ` +
          'of the sequence was processed meanwhile, and this one was not applied',
      ),
    });

    // The sequence goes on from the applied chunk's state, on the replica that refused the other.
    const last = await forward(loserServer, 'hello', chunkBody(next, id, false, true));
    t.equal(last.status, 200);
    const whole = await forward(a, 'hello', chunkBody([...first, ...applied, ...next]));
    t.same(
      winner.json.outputs.data,
      whole.json.outputs.data.slice(first.length * width, (first.length + applied.length) * width),
      "the applied chunk's outputs are the whole sequence's",
    );
    t.same(last.json.outputs.data, whole.json.outputs.data.slice(-next.length * width), "and so are the next chunk's");
    t.same(last.json.states, whole.json.states, 'and the final state');
  });

  await t.test('a replica killed with SIGKILL mid-sequence: the other carries on', async (t) => {
    const hello = steps(8, 4, 21);
    const lstm = steps(8, 3, 22);
    const [h0, h1, h2, h3] = chunks(hello, [2, 2, 2, 2]);
    const [l0, l1, l2, l3] = chunks(lstm, [3, 1, 1, 3]);
    const wholeHello = await forward(b, 'hello', chunkBody(hello));
    const wholeLstm = await forward(b, 'lstm', chunkBody(lstm));
    const outputs = { hello: [] as number[], lstm: [] as number[] };
    const send = async (server: Server, model: 'hello' | 'lstm', part: number[][], start: boolean, end: boolean) => {
      const answer = await forward(server, model, chunkBody(part, `killed-${model}`, start, end));
      t.equal(
        answer.status,
        200,
        `${model}${answer.status === 200 ? '' : `: ${answer.body.toString().slice(0, 300)}`}`,
      );
      outputs[model].push(...answer.json.outputs.data);
      return answer.json;
    };
    await send(a, 'hello', h0, true, false);
    await send(a, 'lstm', l0, true, false);
    await send(b, 'hello', h1, false, false);
    await send(a, 'lstm', l1, false, false);
    await send(a, 'hello', h2, false, false);
    a.child.kill('SIGKILL');
    t.same(await a.exited, { code: null, signal: 'SIGKILL' }, 'the replica is gone');
    await send(b, 'lstm', l2, false, false);
    const lastHello = await send(b, 'hello', h3, false, true);
    const lastLstm = await send(b, 'lstm', l3, false, true);
    t.same(outputs.hello, wholeHello.json.outputs.data, 'hello: every step, bit for bit');
    t.same(lastHello.states, wholeHello.json.states);
    t.same(outputs.lstm, wholeLstm.json.outputs.data, 'lstm: every step, bit for bit');
    t.same(lastLstm.states, wholeLstm.json.states);
    t.same(lastLstm.cellStates, wholeLstm.json.cellStates);
  });

  await t.test("the idle limit is the key's expiry: past it, the next chunk is told to start", async (t) => {
    // A replica in place of the one killed, with a short idle limit; its writes set the key's expiry.
    a = await replica(suite, dir, redis, { SEQUENCE_IDLE_MS: '400' });
    const sequence = steps(4, 4, 31);
    t.equal((await forward(a, 'hello', chunkBody(sequence.slice(0, 1), 'idle', true))).status, 200);
    const ttl = await admin.pttl(`${PREFIX}hello:s:idle`);
    t.ok(ttl > 0 && ttl <= 400, `the key expires in SEQUENCE_IDLE_MS (${ttl} ms left)`);
    // Each chunk sets the expiry again: a sequence that keeps stepping lives past the idle limit.
    for (let i = 1; i < 3; i++) {
      await delay(250);
      const server = i % 2 === 0 ? a : b;
      t.equal((await forward(server, 'hello', chunkBody(sequence.slice(i, i + 1), 'idle'))).status, 200, `step ${i}`);
    }
    t.pass('the sequence is alive past the idle limit since it began: each chunk set its expiry again');
    const expiredBefore = await Promise.all(
      [a, b].map(async (s) => sample(await metrics(s), 'rnn_sequences_expired_total') ?? 0),
    );
    await delay(600);
    t.equal(await admin.exists(`${PREFIX}hello:s:idle`), 0, 'Redis dropped the key');
    const late = await forward(b, 'hello', chunkBody(sequence.slice(3), 'idle', false, true));
    t.equal(late.status, 400);
    t.equal(late.json.errors[0].path, 'sequenceId');
    t.match(
      late.json.errors[0].message,
      /^inference request for sequence "idle" to model "hello" must specify the START flag \(sequenceStart\) on the first request of the sequence: .*expired after SEQUENCE_IDLE_MS/,
    );
    await until(async () => {
      const now = await Promise.all(
        [a, b].map(async (s) => sample(await metrics(s), 'rnn_sequences_expired_total') ?? 0),
      );
      return now[0] + now[1] - expiredBefore[0] - expiredBefore[1] === 1;
    }, 'counted as expired by a replica');
    t.pass('the expiry is counted once, by the replica whose sweep found it');
  });

  await t.test('Redis stopped and started again, under servers that keep running', async (t) => {
    const sequence = steps(6, 4, 41);
    const [c0, c1] = chunks(sequence, [2, 2, 2]);
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const id = `across-${signal}`;
      t.equal((await forward(a, 'hello', chunkBody(c0, id, true))).status, 200, 'a sequence in progress');
      const refusedBefore = sample(await metrics(b), 'rnn_sequences_refused_total', 'reason="unavailable"') ?? 0;
      await redis.stop(signal);
      await delay(300);
      for (const server of [a, b]) {
        await until(async () => (await readiness(server)).json.sequences.ready === false, `down on ${server.port}`);
        const ready = await readiness(server);
        t.equal(ready.status, 200, `${signal}: /readyz is 200: the replica serves stateless requests`);
        t.match(ready.json, { status: 'ready', sequences: { store: 'redis', ready: false, reason: /^redis: / } });
        t.equal(sample(await metrics(server), 'rnn_sequence_store_up'), 0, `${signal}: rnn_sequence_store_up 0`);
        const stateless = await forward(server, 'hello', chunkBody(c0));
        t.equal(stateless.status, 200, `${signal}: a stateless request is served`);
        const binary = await inferBinary(server, 'lstm', steps(2, 3, 1));
        t.equal(binary.status, 200, `${signal}: and one over the inference protocol`);
      }
      const started = Date.now();
      const refused = await forward(b, 'hello', chunkBody(c1, id));
      t.ok(Date.now() - started < 2000, 'refused at once, not after a wait');
      t.equal(refused.status, 503);
      t.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After: ${refused.headers['retry-after']}`);
      t.match(refused.json, {
        type: 'urn:rnn-serve:problem:sequence-store-unavailable',
        detail: new RegExp(
          `^sequence "${id}" of model "hello" could not be loaded: the sequence store \\(Redis\\) is not connected; retry after \\d+ s$`,
        ),
      });
      const overProtocol = await inferBinary(a, 'hello', c1, { id: '"a new one"', start: true, end: false });
      t.equal(overProtocol.status, 503, 'a start over the inference protocol too');
      t.ok(Number(overProtocol.headers['retry-after']) >= 1);
      t.match(json(overProtocol), { error: /could not be started: the sequence store \(Redis\) is not connected/ });
      const refusedAfter = sample(await metrics(b), 'rnn_sequences_refused_total', 'reason="unavailable"') ?? 0;
      t.equal(refusedAfter - refusedBefore, 1, 'counted as refused: unavailable');

      await redis.start();
      for (const server of [a, b])
        await until(async () => (await readiness(server)).json.sequences.ready === true, `back on ${server.port}`);
      t.equal(sample(await metrics(a), 'rnn_sequence_store_up'), 1, `${signal}: up again, the servers never restarted`);
      t.equal(a.child.exitCode, null);
      const gone = await forward(b, 'hello', chunkBody(c1, id));
      t.equal(gone.status, 400, 'a Redis without persistence came back empty: the sequence begun before is gone');
      t.match(gone.json.errors[0].message, /must specify the START flag/);
      await routeChunksEqualWhole(t, [b, a], 'hello', sequence, [2, 2, 2], `${id} again`);
    }
  });
});
