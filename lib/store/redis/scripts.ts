import { WAKE_RANK } from '../../domain/index.js';

/**
 * The Redis adapter's Lua scripts: each multi-key step of the StateStore port is one script, so it is
 * atomic on the server. Every key a script touches is passed in KEYS and carries the pool's hash tag
 * (`{pool}`), so each script stays in one slot and runs unchanged on Redis Cluster. Time comes in ARGV from
 * the caller's Clock (never the server's), so leases, locks and claims expire on the same clock in tests,
 * simulation and production.
 *
 * Keys of one pool (P = `<prefix>{<pool>}`):
 *   P:inst     HASH  id → instance record (JSON)
 *   P:warm     HASH  id → "rank|createdAt|host" of each warm instance (what a claim picks from, without
 *                    decoding records it will not take)
 *   P:serving  SET   ids promoting, active, or cold-booting   (what maxServing bounds)
 *   P:claims   HASH  claimId → {ids, coldSlots, remaining, expiresAt} (JSON), kept for retries until ttl
 *   P:claimexp ZSET  claimId → expiresAt                     (which claims lapse next)
 *   P:reserved STRING cold slots the live claims still hold  (counts against maxServing)
 *   P:locks    HASH  name → {owner, expiresAt} (JSON)
 *   P:state    HASH  version, data
 *   P:seen     ZSET  dedupe key → expiresAt
 *   P:m:<metric>:<start> HASH count, sum, max, last, lastTs of one metric interval (expires with PEXPIRE)
 * Scripts answer a status array (`{'ok', …}` or `{'<error>', …}`) that the adapter maps to typed errors.
 */

const RANKS = Object.entries(WAKE_RANK)
  .map(([state, rank]) => `${state} = ${rank}`)
  .join(', ');

/** Shared helpers prepended to every script. */
const PRELUDE = `
local RANK = { ${RANKS} }
local function decode(s) return cjson.decode(s) end
local function encode(t) return cjson.encode(t) end
local IN_FLIGHT = { booting = true, warming = true, promoting = true, returning = true, deleting = true }
local function is_serving(rec)
  return rec.state == 'promoting' or rec.state == 'active' or (rec.state == 'booting' and rec.purpose == 'active')
end
-- Keeps the warm and serving index sets in step with a record's state.
local function index(warmKey, servingKey, rec)
  if rec.state == 'warm' then
    redis.call('HSET', warmKey, rec.id, (RANK[rec.warmState] or 99) .. '|' .. string.format('%.17g', rec.createdAt) .. '|' .. rec.host)
  else
    redis.call('HDEL', warmKey, rec.id)
  end
  if is_serving(rec) then redis.call('SADD', servingKey, rec.id) else redis.call('SREM', servingKey, rec.id) end
end
local function live_lease(rec, now)
  return rec.lease ~= nil and rec.lease ~= cjson.null and tonumber(rec.lease.expiresAt) > now
end
`;

/** KEYS: inst, warm, serving, claims, reserved. ARGV: id, record JSON, claimId ('' for none), now. */
export const INSERT = `${PRELUDE}
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return { 'ok', existing } end
local now = tonumber(ARGV[4])
if ARGV[3] ~= '' then
  local raw = redis.call('HGET', KEYS[4], ARGV[3])
  local claim = raw and decode(raw)
  if not claim or tonumber(claim.expiresAt) <= now or tonumber(claim.remaining) <= 0 then
    return { 'no_cold_slot' }
  end
  claim.remaining = claim.remaining - 1
  redis.call('HSET', KEYS[4], ARGV[3], encode(claim))
  redis.call('DECR', KEYS[5])
end
local rec = decode(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
index(KEYS[2], KEYS[3], rec)
return { 'ok', ARGV[2] }
`;

/**
 * KEYS: inst, warm, serving. ARGV: id, from (comma-separated), to, owner, leaseMs, force ('1'/'0'), now.
 * The lifecycle (is from → to legal at all) is checked by the adapter before the call.
 */
export const TRANSITION = `${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return { 'unknown' } end
local rec = decode(raw)
local now = tonumber(ARGV[7])
local from = {}
for s in string.gmatch(ARGV[2], '[^,]+') do from[s] = true end
local to, owner = ARGV[3], ARGV[4]
local live = live_lease(rec, now)
if rec.state == to and not from[to] then
  if live and rec.lease.owner ~= owner then return { 'lease_held', rec.lease.owner } end
  return { 'unchanged', raw }
end
if not from[rec.state] then return { 'stale', rec.state } end
if live and rec.lease.owner ~= owner and ARGV[6] ~= '1' then return { 'lease_held', rec.lease.owner } end
rec.state = to
rec.since = now
rec.version = rec.version + 1
if IN_FLIGHT[to] then
  rec.lease = { owner = owner, expiresAt = now + tonumber(ARGV[5]) }
else
  rec.lease = nil
end
local out = encode(rec)
redis.call('HSET', KEYS[1], ARGV[1], out)
index(KEYS[2], KEYS[3], rec)
return { 'ok', out }
`;

/** KEYS: inst. ARGV: id, owner, leaseMs, state ('' for any), now. */
export const ACQUIRE_LEASE = `${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return { 'unknown' } end
local rec = decode(raw)
local now = tonumber(ARGV[5])
if ARGV[4] ~= '' and rec.state ~= ARGV[4] then return { 'stale', rec.state } end
if live_lease(rec, now) and rec.lease.owner ~= ARGV[2] then return { 'lease_held', rec.lease.owner } end
rec.lease = { owner = ARGV[2], expiresAt = now + tonumber(ARGV[3]) }
local out = encode(rec)
redis.call('HSET', KEYS[1], ARGV[1], out)
return { 'ok', out }
`;

/** Lapsed claims give their unused cold slots back and are forgotten; answers the slots still reserved. */
const LAPSE_CLAIMS = `
local function lapse_claims(claimsKey, expKey, reservedKey, now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', expKey, '-inf', now)) do
    local raw = redis.call('HGET', claimsKey, id)
    if raw then
      redis.call('DECRBY', reservedKey, cjson.decode(raw).remaining)
      redis.call('HDEL', claimsKey, id)
    end
    redis.call('ZREM', expKey, id)
  end
  return tonumber(redis.call('GET', reservedKey) or '0')
end
`;

/** KEYS: claims, claimexp, reserved. ARGV: now. */
export const RESERVED_SLOTS = `${LAPSE_CLAIMS}
return lapse_claims(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]))
`;

/** KEYS: inst, warm, serving. ARGV: id. */
export const REMOVE = `
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return n
`;

/**
 * KEYS: inst, warm, serving, claims, claimexp, reserved.
 * ARGV: claimId, count, owner, leaseMs, maxServing, ttlMs, now.
 * The pick is the same rule as pickForPromotion (claim-order.ts): fastest tier first; within a tier, always
 * from the host with the most left (ties: lowest host name); oldest first within a host (ties: lowest id).
 */
export const CLAIM_WARM = `${PRELUDE}${LAPSE_CLAIMS}
local now = tonumber(ARGV[7])
local reserved = lapse_claims(KEYS[4], KEYS[5], KEYS[6], now)
local stored = redis.call('HGET', KEYS[4], ARGV[1])
if stored then
  local c = decode(stored)
  local recs = {}
  for id in string.gmatch(c.ids, '[^,]+') do
    local raw = redis.call('HGET', KEYS[1], id)
    if raw then recs[#recs + 1] = raw end
  end
  return { 'stored', tostring(c.coldSlots), unpack(recs) }
end
local serving = redis.call('SCARD', KEYS[3]) + reserved
local room = tonumber(ARGV[5]) - serving
if room < 0 then room = 0 end
local wanted = math.min(tonumber(ARGV[2]), room)
-- tiers[rank][host] = list of { id, createdAt }, from the index alone.
local tiers, ranks = {}, {}
local warm = redis.call('HGETALL', KEYS[2])
for i = 1, #warm, 2 do
  local r, created, host = string.match(warm[i + 1], '^(%d+)|([^|]+)|(.*)$')
  r = tonumber(r)
  if not tiers[r] then tiers[r] = {}; ranks[#ranks + 1] = r end
  local hosts = tiers[r]
  if not hosts[host] then hosts[host] = {} end
  table.insert(hosts[host], { id = warm[i], createdAt = tonumber(created) })
end
table.sort(ranks)
local pickedIds = {}
for _, r in ipairs(ranks) do
  if #pickedIds >= wanted then break end
  local hosts = tiers[r]
  local names = {}
  for name, list in pairs(hosts) do
    table.sort(list, function(a, b)
      if a.createdAt ~= b.createdAt then return a.createdAt < b.createdAt end
      return a.id < b.id
    end)
    names[#names + 1] = name
  end
  table.sort(names)
  local next = {}
  for _, name in ipairs(names) do next[name] = 1 end
  while #pickedIds < wanted do
    local best, bestLeft = nil, 0
    for _, name in ipairs(names) do
      local left = #hosts[name] - next[name] + 1
      if left > bestLeft then best, bestLeft = name, left end
    end
    if not best then break end
    pickedIds[#pickedIds + 1] = hosts[best][next[best]].id
    next[best] = next[best] + 1
  end
end
local picked = {}
for _, id in ipairs(pickedIds) do picked[#picked + 1] = decode(redis.call('HGET', KEYS[1], id)) end
local ids, out = {}, {}
local expires = now + tonumber(ARGV[4])
for _, rec in ipairs(picked) do
  rec.state = 'promoting'
  rec.since = now
  rec.version = rec.version + 1
  rec.lease = { owner = ARGV[3], expiresAt = expires }
  local raw = encode(rec)
  redis.call('HSET', KEYS[1], rec.id, raw)
  index(KEYS[2], KEYS[3], rec)
  ids[#ids + 1] = rec.id
  out[#out + 1] = raw
end
local cold = wanted - #picked
local claimExpires = now + tonumber(ARGV[6])
redis.call('HSET', KEYS[4], ARGV[1], encode({
  ids = table.concat(ids, ','), coldSlots = cold, remaining = cold, expiresAt = claimExpires,
}))
redis.call('ZADD', KEYS[5], claimExpires, ARGV[1])
if cold > 0 then redis.call('INCRBY', KEYS[6], cold) end
return { 'fresh', tostring(cold), unpack(out) }
`;

/** KEYS: claims, reserved. ARGV: claimId, count, now. */
export const RELEASE_COLD_SLOTS = `${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local c = decode(raw)
if tonumber(c.expiresAt) <= tonumber(ARGV[3]) then return 0 end
local given = math.min(c.remaining, tonumber(ARGV[2]))
c.remaining = c.remaining - given
redis.call('HSET', KEYS[1], ARGV[1], encode(c))
redis.call('DECRBY', KEYS[2], given)
return 1
`;

/** KEYS: locks. ARGV: name, owner, ttlMs, now. */
export const TRY_LOCK = `${PRELUDE}
local now = tonumber(ARGV[4])
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local lock = decode(raw)
  if tonumber(lock.expiresAt) > now and lock.owner ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], encode({ owner = ARGV[2], expiresAt = now + tonumber(ARGV[3]) }))
return 1
`;

/** KEYS: locks. ARGV: name, owner. */
export const UNLOCK = `${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw and decode(raw).owner == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
`;

/** KEYS: state. ARGV: data JSON, expected version. */
export const PUT_POOL_STATE = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'version', current + 1, 'data', ARGV[1])
return 1
`;

/** KEYS: seen. ARGV: key, ttlMs, now. 1 the first time a key is seen within its ttl, else 0. */
export const MARK_ONCE = `
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
`;

/** KEYS: the interval's hash. ARGV: count, sum, max, last, lastTs, ttlMs. Answers the merged interval. */
export const MERGE_INTERVAL = `
local k = KEYS[1]
local count = redis.call('HINCRBY', k, 'count', ARGV[1])
local sum = redis.call('HINCRBYFLOAT', k, 'sum', ARGV[2])
local max = tonumber(redis.call('HGET', k, 'max'))
if not max or tonumber(ARGV[3]) > max then redis.call('HSET', k, 'max', ARGV[3]) end
local lastTs = tonumber(redis.call('HGET', k, 'lastTs'))
if not lastTs or tonumber(ARGV[5]) >= lastTs then redis.call('HSET', k, 'last', ARGV[4], 'lastTs', ARGV[5]) end
redis.call('PEXPIRE', k, ARGV[6])
return redis.call('HMGET', k, 'count', 'sum', 'max', 'last', 'lastTs')
`;
