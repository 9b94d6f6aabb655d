--[[
  The compare-and-set of an attempt's state, with its event, its entries in the active indexes, its
  deadlines and the settled index. Used by transition and setOptOut.
]]
--- @include "includes/values"
--- @include "includes/events"
--- @include "includes/attempts"

-- keys: {seq, log, attempt, active, activeByBrowser, deadlines, settled} (key names).
-- change: {eventId, id, from (',a,b,': the states it may leave), to, at (ms), atIso, and, each nil
-- when not given: visitId (only an attempt of this visit), channel, reason, timeoutAt (set unless
-- already set: a first show fixes the deadline), pageId (where it is shown)}.
-- Returns false, changing nothing, when the attempt is missing, not in a 'from' state, or of another
-- visit; else what settling its channels needs (settleChannels in includes/channels.lua): {counted,
-- the paced channels it counts on ('pc', nil: none); shown, whether it was ever delivered; channel,
-- its channel after the change (nil: none)}. The event (attemptEvent in src/core/events.ts) names
-- the page it is shown on, else the one the attempt was created for.
local function applyTransition(keys, change)
  local id, to = change.id, change.to
  local cur = redis.call('HMGET', keys.attempt, 'state', 'visitId', 'pageId', 'shownPageId', 'channel', 'reason',
    'timeoutAt', 'userData', 'am', 'gm', 'expiresAt', 'pc', 't:delivered')
  local state = cur[1]
  if not state then return false end
  if not string.find(change.from, ',' .. state .. ',', 1, true) then return false end
  if change.visitId and cur[2] ~= change.visitId then return false end
  local shown = change.pageId or orNil(cur[4])
  local newTimeout = orNil(cur[7]) or change.timeoutAt
  local f = {}
  addField(f, 'interactionId', id)
  addField(f, 'visitId', orNil(cur[2]))
  addField(f, 'pageId', shown or orNil(cur[3]))
  addField(f, 'channel', change.channel or orNil(cur[5]))
  addField(f, 'reason', change.reason or orNil(cur[6]))
  addField(f, 'userData', orNil(cur[8]) or '{}')
  appendEvent(keys.seq, keys.log, change.eventId, 'engagement.' .. to, change.at, f)
  local h = {'state', to, 't:' .. to, change.atIso}
  addField(h, 'channel', change.channel)
  addField(h, 'reason', change.reason)
  if not cur[7] then addField(h, 'timeoutAt', change.timeoutAt) end
  addField(h, 'shownPageId', change.pageId)
  redis.call('HSET', keys.attempt, unpack(h))
  -- 'am' and 'gm': the attempt's members in the two active indexes (by visit, by browser).
  if isActive(state) and not isActive(to) then
    if cur[9] then redis.call('ZREM', keys.active, cur[9]) end
    if cur[10] then redis.call('ZREM', keys.activeByBrowser, cur[10]) end
  elseif isActive(to) and not isActive(state) then
    if cur[9] then redis.call('ZADD', keys.active, 0, cur[9]) end
    if cur[10] then redis.call('ZADD', keys.activeByBrowser, 0, cur[10]) end
  end
  redis.call('ZREM', keys.deadlines, 'expire:' .. id, 'timeout:' .. id)
  if to == 'pending' then
    redis.call('ZADD', keys.deadlines, cur[11], 'expire:' .. id)
  elseif to == 'delivered' and newTimeout then
    redis.call('ZADD', keys.deadlines, newTimeout, 'timeout:' .. id)
  end
  indexSettled(keys.settled, id, to, change.at)
  return {counted = orNil(cur[12]), shown = cur[13] ~= false or to == 'delivered',
    channel = change.channel or orNil(cur[5])}
end
