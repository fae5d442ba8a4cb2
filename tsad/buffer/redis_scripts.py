"""The Lua scripts of ``RedisBuffer``: each runs atomically on the server, so an
append (dedupe + write + retention) or an anomaly batch is one round trip.

Validation happens before any write, so an error reply leaves nothing behind
(all-or-nothing, like ``MemoryBuffer``).
"""

from __future__ import annotations

MAX_ANOMALIES = 10_000
ZADD_CHUNK = 500  # members per ZADD inside the script: stays far below Lua's unpack limit
TOO_MANY = "TSAD_TOO_MANY_SERIES"

# KEYS: points, index. ARGV: series id, packed sorted de-duplicated points,
# max points, max age ms (0 = none), max series. Returns the stored duplicates.
# Validation happens before any write so an error leaves nothing behind.
_APPEND_SINGLE_HEAD = f"""
local pts, index, blob = KEYS[1], KEYS[2], ARGV[2]
local n = #blob / 16
if redis.call('EXISTS', pts) == 0 then
  if redis.call('SCARD', index) >= tonumber(ARGV[5]) then
    return redis.error_reply('{TOO_MANY}')
  end
end
"""

# Redis Cluster: a script may only touch keys of one slot, and the index lives in
# another slot than the series. KEYS: points. ARGV as above, but ARGV[5] is 1 once
# the caller has put the series in the index (RESERVE_LUA); a series with no points
# and no reservation returns NEW_SERIES and writes nothing.
_APPEND_CLUSTER_HEAD = """
local pts, blob = KEYS[1], ARGV[2]
local n = #blob / 16
if ARGV[5] ~= '1' and redis.call('EXISTS', pts) == 0 then return -1 end
"""
NEW_SERIES = -1

_APPEND_BODY = f"""local first = struct.unpack('>i8', blob, 1)
local last = struct.unpack('>i8', blob, (n - 1) * 16 + 1)
local dupes = 0
local tail = redis.call('ZRANGE', pts, -1, -1, 'WITHSCORES')
if #tail > 0 and tonumber(tail[2]) >= first then
  local old = redis.call('ZRANGE', pts, string.format('%.0f', first),
    string.format('%.0f', last), 'BYSCORE', 'WITHSCORES')
  if #old > 0 then
    local at = {{}}
    for i = 0, n - 1 do at[struct.unpack('>i8', blob, i * 16 + 1)] = i end
    local gone = {{}}
    for j = 1, #old, 2 do
      local i = at[tonumber(old[j + 1])]
      if i ~= nil then
        dupes = dupes + 1
        if string.sub(blob, i * 16 + 1, i * 16 + 16) ~= old[j] then gone[#gone + 1] = old[j] end
      end
    end
    for j = 1, #gone, {ZADD_CHUNK} do
      redis.call('ZREM', pts, unpack(gone, j, math.min(j + {ZADD_CHUNK} - 1, #gone)))
    end
  end
end
local args = {{}}
for i = 0, n - 1 do
  local off = i * 16
  args[#args + 1] = string.format('%.0f', struct.unpack('>i8', blob, off + 1))
  args[#args + 1] = string.sub(blob, off + 1, off + 16)
  if #args >= {2 * ZADD_CHUNK} or i == n - 1 then
    redis.call('ZADD', pts, unpack(args))
    args = {{}}
  end
end
{{index_add}}
local max_age = tonumber(ARGV[4])
if max_age > 0 then
  local newest = tonumber(redis.call('ZRANGE', pts, -1, -1, 'WITHSCORES')[2])
  redis.call('ZREMRANGEBYSCORE', pts, '-inf', '(' .. string.format('%.0f', newest - max_age))
end
local card = redis.call('ZCARD', pts)
local keep = tonumber(ARGV[3])
if card > keep then redis.call('ZREMRANGEBYRANK', pts, 0, card - keep - 1) end
return dupes
"""
APPEND_LUA = _APPEND_SINGLE_HEAD + _APPEND_BODY.replace(
    "{index_add}", "redis.call('SADD', index, ARGV[1])"
)
APPEND_CLUSTER_LUA = _APPEND_CLUSTER_HEAD + _APPEND_BODY.replace("{index_add}", "")

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
