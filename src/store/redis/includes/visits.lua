--[[
  The end of a visit, as endVisit and enterPage (a visit found idle past its limit) make it.
]]
--- @include "includes/events"

-- Ends a live visit (records visit.ended). keys: {seq, log, visit, live, idle, visitPages, openLive, ended}.
-- Pages still open (normally none) no longer count as open pages of a live visit.
local function endLiveVisit(keys, eventId, visitId, now, idle)
  appendEventIncr(keys.seq, keys.log, eventId, 'visit.ended', now, {'visitId', visitId})
  redis.call('HSET', keys.visit, 'endedAt', now)
  redis.call('ZREM', keys.live, visitId)
  if idle then
    redis.call('HDEL', keys.visit, 'idleSince')
    redis.call('ZREM', keys.idle, visitId)
  end
  redis.call('ZADD', keys.ended, 'GT', now, visitId)
  local pages = redis.call('HKEYS', keys.visitPages)
  for i = 1, math.min(#pages, 1000) do redis.call('SREM', keys.openLive, pages[i]) end
end
