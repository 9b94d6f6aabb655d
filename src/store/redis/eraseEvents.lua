--[[
  eraseEvents: one bounded step of reading the event log for the events of a browser's erased visits (those
  'erasing' holds, which eraseVisits wrote): each one found is deleted (XDEL: an entry cannot be edited),
  with its webhook delivery, waiting or failed. The log is read from 'after' on, at most 'count' entries;
  the caller starts at the oldest seq 'erasing' scores (no event of a visit comes before its
  visit.started) and goes on from the last seq read until a step reads fewer than 'count'.

  KEYS[1] logKey         the event log (stream)
  KEYS[2] erasingKey     the erasure's visits (zset)
  KEYS[3] queueKey       waiting deliveries by lane (lex zset)
  KEYS[4] readyKey       lanes by when their head is due (zset)
  KEYS[5] waitingKey     waiting deliveries: seq -> 'nextAt|attempts|lane' (hash)
  KEYS[6] failedKey      deliveries given up on (hash)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] after          the seq to read after
  ARGV[3] count          how many entries to read at most

  Returns {'ok', the last seq read ('' when none), how many were read, how many went}, or {'stale'}.
]]
local logKey = KEYS[1]
local erasingKey = KEYS[2]
local queueKey = KEYS[3]
local readyKey = KEYS[4]
local waitingKey = KEYS[5]
local failedKey = KEYS[6]

local notAfter = ARGV[1]
local after = ARGV[2]
local count = ARGV[3]

--- @include "includes/clock"
--- @include "includes/outbox"

if isStale(notAfter) then return {'stale'} end
local erased = {}
for _, visitId in ipairs(redis.call('ZRANGE', erasingKey, 0, -1)) do erased[visitId] = true end
local entries = redis.call('XRANGE', logKey, '(' .. after .. '-0', '+', 'COUNT', tonumber(count))
local gone, lanes = 0, {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  local visitId
  for j = 1, #fields, 2 do
    if fields[j] == 'visitId' then
      visitId = fields[j + 1]
      break
    end
  end
  if visitId and erased[visitId] then
    local seq = string.match(entry[1], '^(%d+)')
    redis.call('XDEL', logKey, entry[1])
    local record = redis.call('HGET', waitingKey, seq)
    if record then
      local _, _, lane = parseDelivery(record)
      redis.call('ZREM', queueKey, laneMember(lane, seq))
      redis.call('HDEL', waitingKey, seq)
      lanes[lane] = true
    end
    redis.call('HDEL', failedKey, seq)
    gone = gone + 1
  end
end
for lane in pairs(lanes) do readyNext(queueKey, readyKey, waitingKey, lane) end
local last = ''
if #entries > 0 then last = string.match(entries[#entries][1], '^(%d+)') end
return {'ok', last, #entries, gone}
