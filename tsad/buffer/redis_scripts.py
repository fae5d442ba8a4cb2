"""The Lua scripts of ``RedisBuffer``: each runs atomically on the server, so an
append (dedupe + write + retention) or an anomaly batch is one round trip.

Validation happens before any write, so an error reply leaves nothing behind
(all-or-nothing, like ``MemoryBuffer``).
"""

from __future__ import annotations

MAX_ANOMALIES = 10_000
ZADD_CHUNK = 500  # members per ZADD inside the script: stays far below Lua's unpack limit
TOO_MANY = "TSAD_TOO_MANY_SERIES"

CHUNK = 256  # most points per stored chunk
# A chunk is one ZSET member, scored by its last timestamp: ``>i8`` base (its first
# timestamp, or earlier once retention cut its head) then per point ``>I4`` offset from
# the base (ms) and ``>d`` value: 12 bytes a point. Offsets stay below 2^32 (49 days).
_CHUNK_LIB = f"""
local C, SPAN = {CHUNK}, 4294967295
local function decode(m, ts, ys, k)
  local base = struct.unpack('>i8', m, 1)
  for i = 0, (#m - 8) / 12 - 1 do
    local off, y = struct.unpack('>I4>d', m, 9 + i * 12)
    k = k + 1
    ts[k] = base + off
    ys[k] = y
  end
  return k
end
local function fmt(t) return string.format('%.0f', t) end
local function write(ck, ts, ys, i, last)
  local args = {{}}
  while i <= last do
    local j = math.min(i + C - 1, last)
    while ts[j] - ts[i] > SPAN do j = j - 1 end
    local parts, base = {{struct.pack('>i8', ts[i])}}, ts[i]
    for k = i, j do parts[#parts + 1] = struct.pack('>I4>d', ts[k] - base, ys[k]) end
    args[#args + 1] = fmt(ts[j])
    args[#args + 1] = table.concat(parts)
    if #args >= {2 * ZADD_CHUNK} then
      redis.call('ZADD', ck, unpack(args))
      args = {{}}
    end
    i = j + 1
  end
  if #args > 0 then redis.call('ZADD', ck, unpack(args)) end
end
local function remove(ck, members)
  for j = 1, #members, {ZADD_CHUNK} do
    redis.call('ZREM', ck, unpack(members, j, math.min(j + {ZADD_CHUNK} - 1, #members)))
  end
end
-- two sorted runs as one; on equal timestamps the second wins (counted as dupes)
local function merge(ots, oys, on, bts, bys, n)
  local ts, ys, k, i, j, dupes = {{}}, {{}}, 0, 1, 1, 0
  while i <= on or j <= n do
    k = k + 1
    if j > n or (i <= on and ots[i] < bts[j]) then
      ts[k], ys[k], i = ots[i], oys[i], i + 1
    else
      if i <= on and ots[i] == bts[j] then dupes, i = dupes + 1, i + 1 end
      ts[k], ys[k], j = bts[j], bys[j], j + 1
    end
  end
  return ts, ys, k, dupes
end
-- the previous layout (a ZSET of 16-byte >i8 ts >d value members) becomes chunks; if
-- chunks exist too (a replica on the previous version wrote after a conversion), the
-- two are merged, the later writes of the old layout winning
local function migrate(ck, cnt, old)
  if redis.call('EXISTS', old) == 0 then return 0 end
  local raw = redis.call('ZRANGE', old, 0, -1)
  local ts, ys = {{}}, {{}}
  for i, m in ipairs(raw) do ts[i], ys[i] = struct.unpack('>i8>d', m, 1) end
  local k = #raw
  if redis.call('EXISTS', ck) == 1 then
    local cts, cys, cn = {{}}, {{}}, 0
    for _, m in ipairs(redis.call('ZRANGE', ck, 0, -1)) do cn = decode(m, cts, cys, cn) end
    ts, ys, k = merge(cts, cys, cn, ts, ys, k)
    redis.call('DEL', ck)
  end
  write(ck, ts, ys, 1, k)
  redis.call('SET', cnt, k)
  redis.call('DEL', old)
  return 1
end
"""

# KEYS: chunks, count, old points, index. ARGV: series id, packed sorted de-duplicated
# points (16 bytes each: >i8 ts, >d value), max points, max age ms (0 = none), max
# series. Returns the stored duplicates. Validation happens before any write, so an
# error leaves nothing behind.
_APPEND_SINGLE_HEAD = f"""
local ck, cnt, old, index, blob = KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[2]
if redis.call('EXISTS', ck) == 0 and redis.call('EXISTS', old) == 0 then
  if redis.call('SCARD', index) >= tonumber(ARGV[5]) then
    return redis.error_reply('{TOO_MANY}')
  end
end
"""

# Redis Cluster: a script may only touch keys of one slot, and the index lives in
# another slot than the series. KEYS: chunks, count, old points. ARGV as above, but
# ARGV[5] is 1 once the caller has put the series in the index (RESERVE_LUA); a series
# with no points and no reservation returns NEW_SERIES and writes nothing.
_APPEND_CLUSTER_HEAD = """
local ck, cnt, old, blob = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
if ARGV[5] ~= '1' and redis.call('EXISTS', ck) == 0 and redis.call('EXISTS', old) == 0 then
  return -1
end
"""
NEW_SERIES = -1

# Merge the batch into the chunks it overlaps (for in-order data: the last chunk while it
# has room, else none), then retention: drop whole chunks, cut the first one.
_APPEND_BODY = """
migrate(ck, cnt, old)
local n = #blob / 16
local bts, bys = {}, {}
for i = 1, n do bts[i], bys[i] = struct.unpack('>i8>d', blob, (i - 1) * 16 + 1) end
local first, last = bts[1], bts[n]
local hit = {}
for _, m in ipairs(redis.call('ZRANGE', ck, fmt(first), '+inf', 'BYSCORE')) do
  if struct.unpack('>i8', m, 1) > last then break end
  hit[#hit + 1] = m
end
local dupes = 0
local tail = nil
if #hit == 0 then
  local t = redis.call('ZRANGE', ck, -1, -1, 'WITHSCORES')
  if #t > 0 and tonumber(t[2]) < first then tail = t[1] end
end
if tail ~= nil then
  -- in order after the last chunk (the usual case): extend it by concatenation while it
  -- has room, without decoding it; the rest becomes new chunks
  local base, room = struct.unpack('>i8', tail, 1), C - (#tail - 8) / 12
  local j = 0
  while j < n and j < room and bts[j + 1] - base <= SPAN do j = j + 1 end
  if j > 0 then
    local parts = {tail}
    for k = 1, j do parts[k + 1] = struct.pack('>I4>d', bts[k] - base, bys[k]) end
    redis.call('ZREM', ck, tail)
    redis.call('ZADD', ck, fmt(bts[j]), table.concat(parts))
  end
  write(ck, bts, bys, j + 1, n)
else
  local ots, oys = {}, {}
  local on = 0
  for _, m in ipairs(hit) do on = decode(m, ots, oys, on) end
  local ts, ys, k
  ts, ys, k, dupes = merge(ots, oys, on, bts, bys, n)
  remove(ck, hit)
  write(ck, ts, ys, 1, k)
end
{index_add}
local count = tonumber(redis.call('GET', cnt) or '0') + n - dupes
local function cut(drop)
  -- drop the first chunk's first ``drop`` points: its base stays, the offsets after
  -- them stay valid (a chunk's base may precede its first point)
  local head = redis.call('ZRANGE', ck, 0, 0, 'WITHSCORES')
  redis.call('ZREM', ck, head[1])
  redis.call('ZADD', ck, head[2], string.sub(head[1], 1, 8) .. string.sub(head[1], 9 + drop * 12))
  return drop
end
local max_age = tonumber(ARGV[4])
if max_age > 0 then
  local cutoff = tonumber(redis.call('ZRANGE', ck, -1, -1, 'WITHSCORES')[2]) - max_age
  local gone = redis.call('ZRANGE', ck, '-inf', '(' .. fmt(cutoff), 'BYSCORE')
  for _, m in ipairs(gone) do count = count - (#m - 8) / 12 end
  remove(ck, gone)
  local head = redis.call('ZRANGE', ck, 0, 0)[1]
  if struct.unpack('>i8', head, 1) < cutoff then
    -- binary search for the first point at or after the cutoff (offsets are sorted)
    local base, lo, hi = struct.unpack('>i8', head, 1), 1, (#head - 8) / 12
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if base + struct.unpack('>I4', head, 9 + (mid - 1) * 12) < cutoff then
        lo = mid + 1
      else
        hi = mid
      end
    end
    if lo > 1 then count = count - cut(lo - 1) end
  end
end
local keep = tonumber(ARGV[3])
while count > keep do
  local head = redis.call('ZRANGE', ck, 0, 0)[1]
  local hn = (#head - 8) / 12
  if count - hn >= keep then
    redis.call('ZREM', ck, head)
    count = count - hn
  else
    count = count - cut(count - keep)
  end
end
redis.call('SET', cnt, count)
return dupes
"""
APPEND_LUA = (
    _CHUNK_LIB
    + _APPEND_SINGLE_HEAD
    + _APPEND_BODY.replace("{index_add}", "redis.call('SADD', index, ARGV[1])")
)
APPEND_CLUSTER_LUA = _CHUNK_LIB + _APPEND_CLUSTER_HEAD + _APPEND_BODY.replace("{index_add}", "")

# KEYS: chunks, count, old points. Converts one series from the previous layout (no-op
# when it has none); returns 1 if it converted.
MIGRATE_LUA = _CHUNK_LIB + "return migrate(KEYS[1], KEYS[2], KEYS[3])\n"

# KEYS: index. ARGV: series id, max series. Cluster mode, once per new series:
# admit it to the index unless the buffer is full (atomic on the index's slot).
RESERVE_LUA = f"""
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return redis.error_reply('{TOO_MANY}')
end
return redis.call('SADD', KEYS[1], ARGV[1])
"""

# KEYS: anomalies. ARGV: cap, then (ts, record) pairs. A record for a recorded
# timestamp replaces it; the oldest records beyond the cap are dropped.
ANOMALIES_LUA = """
local key = KEYS[1]
for j = 2, #ARGV, 2 do
  redis.call('ZREMRANGEBYSCORE', key, ARGV[j], ARGV[j])
  redis.call('ZADD', key, ARGV[j], ARGV[j + 1])
end
local card = redis.call('ZCARD', key)
local cap = tonumber(ARGV[1])
if card > cap then redis.call('ZREMRANGEBYRANK', key, 0, card - cap - 1) end
return card
"""
