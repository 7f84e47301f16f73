/**
 * The Lua scripts that make each write of redis-store.ts one atomic step in Redis: the compare-and-set of a
 * sequence's step, the bound on sequences, and the index the sweep counts expiries from.
 *
 * Data layout, under REDIS_KEY_PREFIX (`p`):
 *   p<member>      a hash per sequence: m model, v version, d weights digest, s step, b state (state-bytes.ts);
 *                  its expiry (PEXPIRE) is the idle limit, set again by every write
 *   p + 'sequences' a sorted set of the members in progress, scored by their expiry time (Redis's clock, ms): the
 *                  bound on sequences counts it, and the sweep finds the expired ones in it without a SCAN
 * A member is `<model>:i:<decimal id>` or `<model>:s:<string id>` (sequence-keys in redis-store.ts), so the index key,
 * which has no colon after the prefix, is never a sequence's.
 *
 * The scripts read keys they build from the prefix and a member (the sweep's), so they need one Redis, not a
 * Cluster (their keys are not all passed as KEYS).
 */
import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, body: string): LuaScript {
  const source = `${PRELUDE}\n${body}`;
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * `now_ms()`: Redis's clock, so replicas with skewed clocks agree. `sweep(...)`: drops from the index the members
 * whose deadline has passed and whose key is gone (expired), up to `limit` of them; a member whose key is still
 * there (another replica with a longer idle limit wrote it) is scored again by its key's time to live.
 */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(n)
  return string.format('%d', n)
end
local function sweep(index, prefix, now, limit)
  local due = redis.call('ZRANGEBYSCORE', index, '-inf', int(now), 'LIMIT', 0, limit)
  local gone = 0
  for _, member in ipairs(due) do
    local ttl = redis.call('PTTL', prefix .. member)
    if ttl == -2 then
      redis.call('ZREM', index, member)
      gone = gone + 1
    else
      if ttl < 0 then ttl = 1000 end
      redis.call('ZADD', index, int(now + ttl), member)
    end
  end
  return gone
end`;

/**
 * KEYS: entry, index. ARGV: member, prefix, model, version, digest, state, idle ms, max sequences, sweep limit.
 * → {step, restarted 0/1, expired, active}; step -1: refused, SEQUENCE_MAX in progress.
 */
export const BEGIN = script(
  'begin',
  `
local now = now_ms()
local idle = tonumber(ARGV[7])
local old = redis.call('HGET', KEYS[1], 's')
local expired = 0
if not old then
  -- Still indexed, its key gone: it expired, and the sweep has not counted it yet.
  expired = redis.call('ZREM', KEYS[2], ARGV[1])
  local max = tonumber(ARGV[8])
  if redis.call('ZCARD', KEYS[2]) >= max then
    expired = expired + sweep(KEYS[2], ARGV[2], now, tonumber(ARGV[9]))
    local active = redis.call('ZCARD', KEYS[2])
    if active >= max then return {-1, 0, expired, active} end
  end
end
local step = 0
local restarted = 0
if old then
  step = tonumber(old) + 1
  restarted = 1
end
redis.call('HSET', KEYS[1], 'm', ARGV[3], 'v', ARGV[4], 'd', ARGV[5], 's', int(step), 'b', ARGV[6])
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('ZADD', KEYS[2], int(now + idle), ARGV[1])
return {step, restarted, expired, redis.call('ZCARD', KEYS[2])}`,
);

/**
 * KEYS: entry, index. ARGV: member, expected step, state, idle ms.
 * → {1, new step} saved; {0, 0} gone (ended or expired); {-1, found step} another step was saved meanwhile.
 */
export const SAVE = script(
  'save',
  `
local found = redis.call('HGET', KEYS[1], 's')
if not found then return {0, 0} end
if tonumber(found) ~= tonumber(ARGV[2]) then return {-1, tonumber(found)} end
local step = tonumber(found) + 1
local idle = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 's', int(step), 'b', ARGV[3])
redis.call('PEXPIRE', KEYS[1], idle)
redis.call('ZADD', KEYS[2], int(now_ms() + idle), ARGV[1])
return {1, step}`,
);

/**
 * KEYS: entry, index. ARGV: member, expected step or '' for any.
 * → {1, 0, active} ended; {0, expired 0/1, active} was not in progress (1: it had expired and was still indexed);
 *   {-1, found step, active} another step was saved meanwhile.
 */
export const END = script(
  'end',
  `
local found = redis.call('HGET', KEYS[1], 's')
if not found then
  local expired = redis.call('ZREM', KEYS[2], ARGV[1])
  return {0, expired, redis.call('ZCARD', KEYS[2])}
end
if ARGV[2] ~= '' and tonumber(found) ~= tonumber(ARGV[2]) then
  return {-1, tonumber(found), redis.call('ZCARD', KEYS[2])}
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {1, 0, redis.call('ZCARD', KEYS[2])}`,
);

/** KEYS: index. ARGV: prefix, limit. → {expired, active}. */
export const SWEEP = script(
  'sweep',
  `
local expired = sweep(KEYS[1], ARGV[1], now_ms(), tonumber(ARGV[2]))
return {expired, redis.call('ZCARD', KEYS[1])}`,
);
