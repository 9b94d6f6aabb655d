--[[
  finishErasure: the last step of a browser's erasure, once its records and its events in the log are
  gone: forgets the erasure's visits ('erasing') and records visitor.erased with what went (naming no
  id), unless nothing went.

  KEYS[1] seqKey         the newest event's seq (string)
  KEYS[2] logKey         the event log (stream)
  KEYS[3] erasingKey     the erasure's visits (zset)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] eventId        the id of the visitor.erased event
  ARGV[3] now            ms
  ARGV[4] counts         the event's data: the counts (JSON, as the store made it)
  ARGV[5] anything       '1' when anything went, else '0' (then no event)

  Returns {'ok', 1} when it recorded the event, {'ok', 0} otherwise, or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local erasingKey = KEYS[3]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local now = ARGV[3]
local counts = ARGV[4]
local anything = ARGV[5]

--- @include "includes/clock"
--- @include "includes/events"

if isStale(notAfter) then return {'stale'} end
if anything == '1' then appendEvent(seqKey, logKey, eventId, 'visitor.erased', now, {'data', counts}) end
redis.call('DEL', erasingKey)
if anything == '1' then return {'ok', 1} end
return {'ok', 0}
