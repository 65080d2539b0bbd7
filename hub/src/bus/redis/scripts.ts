import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

/** The slice of an ioredis client that runs scripts. */
export interface ScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(lua: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

function luaScript(name: string, lua: string): LuaScript {
  return Object.freeze({ name, lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/**
 * Runs a script by SHA, sending its source only when the server does not have it yet (after a restart or a
 * `SCRIPT FLUSH`); EVAL caches it again for the next call.
 * @example const [seq, ts] = await runScript(redis, publishScript, 4, [seqKey, logKey, tsKey, bytesKey, ...args]);
 */
export async function runScript(client: ScriptClient, script: LuaScript, numKeys: number, args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, numKeys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.eval(script.lua, numKeys, ...args);
  }
}

/**
 * Publishes one message atomically: next seq, frame, append, trim, expire, PUBLISH. Because the script runs alone
 * on the server, PUBLISH order is seq order, which is what lets every node deliver in order.
 *
 * KEYS: seq counter, frame log, ts log (lockstep with the frame log), the frame log's byte count.
 * ARGV: topic as JSON, data as JSON, keep messages, keep ms, max messages, history TTL seconds, channel, max bytes.
 * Returns `{seq, ts}`; `ts` is the server's clock, so retention ages are measured on one clock for all nodes.
 */
export const publishScript = luaScript('publish', publishLua('PUBLISH'));

/**
 * {@link publishScript} for a Redis Cluster: SPUBLISH, so the message goes to the subscribers of the shard that owns
 * the topic's slot instead of over the cluster bus to every node. The channel carries the topic's hash tag, so it is
 * in the same slot as the keys.
 */
export const shardedPublishScript = luaScript('publish-sharded', publishLua('SPUBLISH'));

function publishLua(command: 'PUBLISH' | 'SPUBLISH'): string {
  return `
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then
  -- A counter that starts over must not sit on frames from an earlier life of the topic.
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ts = string.format('%d', now)
-- Byte for byte what msgFrame() in bus.ts builds.
local frame = '{"op":"msg","topic":' .. ARGV[1] .. ',"seq":' .. string.format('%d', seq) .. ',"ts":' .. ts .. ',"data":' .. ARGV[2] .. '}'
local len = redis.call('RPUSH', KEYS[2], frame)
redis.call('RPUSH', KEYS[3], ts)
-- A log written before the byte count existed starts it from zero: it undercounts until those frames are trimmed.
local bytes = redis.call('INCRBY', KEYS[4], #frame)

local keep, keepMs, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local drop = 0
if len > cap then drop = len - cap end
-- Age trimming is bounded per call so a topic that went quiet after a burst cannot stall the server on its next
-- publish; each later publish trims a little more, and keeping more than required is allowed.
local budget = 64
while budget > 0 and len - drop > keep do
  local oldest = tonumber(redis.call('LINDEX', KEYS[3], drop))
  if oldest == nil or now - oldest < keepMs then break end
  drop = drop + 1
  budget = budget - 1
end
-- The frames dropped so far leave the byte count; read a bounded chunk at a time.
local counted = 0
while counted < drop do
  local chunk = redis.call('LRANGE', KEYS[2], counted, math.min(drop, counted + 64) - 1)
  if #chunk == 0 then break end
  for _, f in ipairs(chunk) do bytes = bytes - #f end
  counted = counted + #chunk
end
-- The byte cap wins over count and age, like the message cap: the oldest go until the rest fit.
local maxBytes = tonumber(ARGV[8])
while bytes > maxBytes and drop < len do
  local chunk = redis.call('LRANGE', KEYS[2], drop, drop + 63)
  if #chunk == 0 then break end
  for _, f in ipairs(chunk) do
    if bytes <= maxBytes then break end
    bytes = bytes - #f
    drop = drop + 1
  end
end
if bytes < 0 or drop >= len then bytes = 0 end
if drop > 0 then
  redis.call('SET', KEYS[4], bytes)
  redis.call('LTRIM', KEYS[2], drop, -1)
  redis.call('LTRIM', KEYS[3], drop, -1)
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[6])
redis.call('${command}', ARGV[7], frame)
return {seq, now}
`;
}

/**
 * Reads a topic's head and the retained frames after `since` in one atomic step. Seqs in the log are contiguous
 * and end at the head, so the slice is found by arithmetic.
 *
 * KEYS: seq counter, frame log. ARGV: since.
 * Returns `{head, 1}` for reset, `{head, 0, frames}` otherwise.
 */
export const historyScript = luaScript(
  'history',
  `
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since > head then return {head, 1} end
if since == head then return {head, 0, {}} end
local first = head - redis.call('LLEN', KEYS[2]) + 1
if since + 1 < first then return {head, 1} end
return {head, 0, redis.call('LRANGE', KEYS[2], since + 1 - first, -1)}
`,
);
