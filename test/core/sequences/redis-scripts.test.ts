/**
 * redis-scripts.ts: the Lua scripts that make each write of the Redis store one atomic step. Held, on a real
 * redis-server, to: Redis's own SHA1 of each script being ours (so EVALSHA finds it), and each script's replies
 * as documented: BEGIN's step, restart and bound, SAVE's compare-and-set, END's, and SWEEP counting an expired
 * sequence once.
 */
import { Redis } from 'ioredis';
import t from 'tap';
import { BEGIN, END, type LuaScript, SAVE, SWEEP } from '../../../src/core/sequences/redis-scripts.js';
import { redisServerMissing, startRedisServer } from '../../helpers/redis-server.js';

const missing = redisServerMissing();
const P = 'test:';
const INDEX = `${P}sequences`;

t.test('the scripts on a real Redis', { skip: missing ?? false }, async (t) => {
  const server = await startRedisServer(t);
  const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect();
  t.teardown(() => redis.disconnect());
  const run = (script: LuaScript, keys: string[], args: (string | number)[]) =>
    redis.evalsha(script.sha1, keys.length, ...keys, ...args) as Promise<number[]>;

  for (const script of [BEGIN, SAVE, END, SWEEP])
    t.equal(await redis.script('LOAD', script.source), script.sha1, `${script.name}: Redis's SHA1 is ours`);

  const member = 'm:i:1';
  const entry = `${P}${member}`;
  const begin = (m: string, max = 2) =>
    run(BEGIN, [`${P}${m}`, INDEX], [m, P, 'm', '1', 'digest', 'state0', 60_000, max, 10]);
  t.same(await begin(member), [0, 0, 0, 1], 'a new sequence: step 0, not restarted, 1 active');
  t.same(await redis.hgetall(entry), { m: 'm', v: '1', d: 'digest', s: '0', b: 'state0' });
  t.ok((await redis.pttl(entry)) > 59_000, 'the idle limit as its expiry');
  t.same(await run(SAVE, [entry, INDEX], [member, 0, 'state1', 60_000]), [1, 1], 'saved: step 1');
  t.same(await run(SAVE, [entry, INDEX], [member, 0, 'state2', 60_000]), [-1, 1], 'another step was saved: refused');
  t.equal(await redis.hget(entry, 'b'), 'state1', 'and nothing written');
  t.same(await begin(member), [2, 1, 0, 1], 'begun again: restarted, the step goes on');
  t.same(await begin('m:i:2'), [0, 0, 0, 2]);
  t.same(await begin('m:i:3'), [-1, 0, 0, 2], 'SEQUENCE_MAX in progress: refused');
  t.same(await run(END, [entry, INDEX], [member, 5]), [-1, 2, 2], 'END at another step: refused');
  t.same(await run(END, [entry, INDEX], [member, '']), [1, 0, 1], 'ended, whatever its step');
  t.same(await run(END, [entry, INDEX], [member, '']), [0, 0, 1], 'not in progress');
  t.same(await run(SAVE, [entry, INDEX], [member, 2, 'x', 60_000]), [0, 0], 'gone: nothing saved');

  // An expired sequence: its key gone, still indexed with a past deadline; the sweep counts it once.
  await redis.del(`${P}m:i:2`);
  await redis.zadd(INDEX, 1, 'm:i:2');
  t.same(await run(SWEEP, [INDEX], [P, 10]), [1, 0]);
  t.same(await run(SWEEP, [INDEX], [P, 10]), [0, 0]);
});
