--[[
  pruneAttempts: one batch of the retention of attempts. The caller read the ids (the settled index,
  oldest first) before, so each is checked again here: only an attempt in a terminal state whose settle
  time (its score) is before 'before' goes, with its entries in the index of attempts (by creation, by
  browser and visit), the deadlines and its browser's cap budget ('cm'). An entry whose attempt is gone
  or in progress is dropped without counting.

  KEYS[1] settledKey         settled attempts by settle time (zset)
  KEYS[2] attemptIndexKey    the index of attempts (lex zset)
  KEYS[3] deadlinesKey       expiries and timeouts (zset)
  KEYS[4] capBudgetKey       the browsers' cap budgets (lex zset)
  KEYS[5] capBudgetByAgeKey  the same entries by time (zset)
  KEYS[6 .. 5 + count]       the attempts (hashes), in the order of their ids below

  ARGV[1] notAfter           the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] before             ms: what settled before this goes
  ARGV[3] count              how many ids follow
  ARGV[4 .. 3 + count]       the attempts' ids

  Returns {'ok', how many went}, or {'stale'}.
]]
local settledKey = KEYS[1]
local attemptIndexKey = KEYS[2]
local deadlinesKey = KEYS[3]
local capBudgetKey = KEYS[4]
local capBudgetByAgeKey = KEYS[5]

local notAfter = ARGV[1]
local before = ARGV[2]
local count = ARGV[3]

--- @include "includes/clock"
--- @include "includes/attempts"
--- @include "includes/attemptindex"

if isStale(notAfter) then return {'stale'} end
local beforeMs, n = tonumber(before), tonumber(count)
local dropped = 0
for i = 1, n do
  local id, attemptKey = ARGV[3 + i], KEYS[5 + i]
  local a = redis.call('HMGET', attemptKey, 'state', 'createdAt', 'cm', 'hm')
  local settledAt = redis.call('ZSCORE', settledKey, id)
  if not a[1] or isActive(a[1]) then
    redis.call('ZREM', settledKey, id)
  elseif settledAt and tonumber(settledAt) < beforeMs then
    redis.call('DEL', attemptKey)
    redis.call('ZREM', settledKey, id)
    if a[4] then
      redis.call('ZREM', attemptIndexKey, createdMember(a[2], id), HISTORY_TAG .. a[4])
    else
      redis.call('ZREM', attemptIndexKey, createdMember(a[2], id))
    end
    redis.call('ZREM', deadlinesKey, 'expire:' .. id, 'timeout:' .. id)
    if a[3] then
      redis.call('ZREM', capBudgetKey, a[3])
      redis.call('ZREM', capBudgetByAgeKey, a[3])
    end
    dropped = dropped + 1
  end
end
return {'ok', dropped}
