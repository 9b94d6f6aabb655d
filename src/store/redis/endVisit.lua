--[[
  endVisit: ends a live visit (records visit.ended). Pages still open (normally none) no longer count
  as open pages of a live visit.

  KEYS[1] seqKey         the newest event's seq (string)
  KEYS[2] logKey         the event log (stream)
  KEYS[3] visitKey       the visit (hash)
  KEYS[4] liveKey        live visits by start (zset)
  KEYS[5] idleKey        live visits with no open page (zset)
  KEYS[6] visitPagesKey  the visit's open pages (hash)
  KEYS[7] openLiveKey    open pages of live visits (set)
  KEYS[8] endedKey       ended visits by retention time (zset)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] eventId        the id of the visit.ended event
  ARGV[3] visitId        the visit
  ARGV[4] now            ms

  Returns {'ok', 1} when it ended the visit, {'ok', 0} when it is unknown or had ended, or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local visitKey = KEYS[3]
local liveKey = KEYS[4]
local idleKey = KEYS[5]
local visitPagesKey = KEYS[6]
local openLiveKey = KEYS[7]
local endedKey = KEYS[8]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local visitId = ARGV[3]
local now = ARGV[4]

--- @include "includes/clock"
--- @include "includes/visits"

if isStale(notAfter) then return {'stale'} end
local v = redis.call('HMGET', visitKey, 'startedAt', 'endedAt', 'idleSince')
if not v[1] or v[2] then return {'ok', 0} end
endLiveVisit({seq = seqKey, log = logKey, visit = visitKey, live = liveKey, idle = idleKey, visitPages = visitPagesKey,
  openLive = openLiveKey, ended = endedKey}, eventId, visitId, now, v[3])
return {'ok', 1}
