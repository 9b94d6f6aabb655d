--[[
  pruneEvents: deletes up to 'limit' of the oldest events written before 'before', with the failed
  webhook deliveries of those events; an event still waiting for its webhook stays. Oldest first; stops
  at the first event at or after 'before'.

  KEYS[1] logKey      the event log (stream)
  KEYS[2] waitingKey  waiting webhook deliveries by seq (hash)
  KEYS[3] failedKey   failed webhook deliveries by seq (hash)

  ARGV[1] notAfter    the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] before      ms
  ARGV[3] limit       the most events looked at

  Returns {'ok', how many events went}, or {'stale'}.
]]
local logKey = KEYS[1]
local waitingKey = KEYS[2]
local failedKey = KEYS[3]

local notAfter = ARGV[1]
local before = ARGV[2]
local limit = ARGV[3]

--- @include "includes/clock"

if isStale(notAfter) then return {'stale'} end
local beforeMs = tonumber(before)
local entries = redis.call('XRANGE', logKey, '-', '+', 'COUNT', tonumber(limit))
local dropped = 0
for _, entry in ipairs(entries) do
  local list = entry[2]
  local at
  for i = 1, #list, 2 do
    if list[i] == 'at' then at = tonumber(list[i + 1]) break end
  end
  if at >= beforeMs then break end
  local seq = string.match(entry[1], '^(%d+)')
  if redis.call('HEXISTS', waitingKey, seq) == 0 then
    redis.call('XDEL', logKey, entry[1])
    redis.call('HDEL', failedKey, seq)
    dropped = dropped + 1
  end
end
return {'ok', dropped}
