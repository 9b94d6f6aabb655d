--[[
  startVisit: starts a visit (records visit.started); nothing when it exists.

  KEYS[1] seqKey         the newest event's seq (string)
  KEYS[2] logKey         the event log (stream)
  KEYS[3] visitKey       the visit (hash)
  KEYS[4] liveKey        live visits by start (zset)
  KEYS[5] visitsByBrowserKey  visits by browser (lex zset)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] eventId        the id of the visit.started event
  ARGV[3] visitId        the visit
  ARGV[4] globalVisitId  its browser
  ARGV[5] now            ms

  Returns {'ok', 1} when it started the visit, {'ok', 0} when it exists, or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local visitKey = KEYS[3]
local liveKey = KEYS[4]
local visitsByBrowserKey = KEYS[5]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local visitId = ARGV[3]
local globalVisitId = ARGV[4]
local now = ARGV[5]

--- @include "includes/clock"
--- @include "includes/events"
--- @include "includes/history"

if isStale(notAfter) then return {'stale'} end
if redis.call('EXISTS', visitKey) == 1 then return {'ok', 0} end
local seq = appendEventIncr(seqKey, logKey, eventId, 'visit.started', now, {'visitId', visitId})
-- 'ss': where its events start in the log (erasure reads the log from there).
redis.call('HSET', visitKey, 'globalVisitId', globalVisitId, 'startedAt', now, 'ss', seq)
redis.call('ZADD', visitsByBrowserKey, 0, browserVisitMember(globalVisitId, now, visitId))
redis.call('ZADD', liveKey, now, visitId)
return {'ok', 1}
