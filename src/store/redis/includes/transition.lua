--[[
  The compare-and-set of an attempt's state, with its event, its entries in progress, its
  deadlines and the settled index. Used by transition and setOptOut. The attempt's hash is read once
  (HGETALL) and written once (writeAttempt): what the caps and the report counters add to it
  (includes/caps.lua, includes/reports.lua) joins the same write.
]]
--- @include "includes/values"
--- @include "includes/events"
--- @include "includes/attempts"
--- @include "includes/attemptindex"

-- keys: {seq, log, attempt, index (attempts:ix), deadlines, settled} (key names).
-- change: {eventId, id, from (',a,b,': the states it may leave), to, at (ms), atIso, and, each nil
-- when not given: visitId (only an attempt of this visit), channel, reason, timeoutAt (set unless
-- already set: a first show fixes the deadline), timeoutFromAttempt (true: timeoutAt is at plus the
-- attempt's own timeoutSeconds, so the caller need not read it first), pageId (where it is shown)}.
-- Returns false, changing nothing, when the attempt is missing, not in a 'from' state, or of another
-- visit. Else the change under way, t: cur (the hash before, by field), set and drop (what its hash
-- is still to get and lose: writeAttempt writes them), channel and reason (after the change, nil:
-- none), and what settling its channels needs (settleChannels in includes/channels.lua): counted, the
-- paced channels it counts on ('pc', nil: none); shown, whether it was ever delivered. The event
-- (attemptEvent in src/core/events.ts) names the page it is shown on, else the one the attempt was
-- created for.
local function applyTransition(keys, change)
  local id, to = change.id, change.to
  local flat = redis.call('HGETALL', keys.attempt)
  local cur = {}
  for i = 1, #flat, 2 do cur[flat[i]] = flat[i + 1] end
  local state = cur.state
  if not state then return false end
  if not string.find(change.from, ',' .. state .. ',', 1, true) then return false end
  if change.visitId and cur.visitId ~= change.visitId then return false end
  local shown = change.pageId or cur.shownPageId
  local timeoutAt = change.timeoutAt
  if not timeoutAt and change.timeoutFromAttempt and cur.timeoutSeconds then
    timeoutAt = string.format('%d', tonumber(change.at) + tonumber(cur.timeoutSeconds) * 1000)
  end
  local newTimeout = cur.timeoutAt or timeoutAt
  local t = {cur = cur, set = {'state', to, 't:' .. to, change.atIso}, drop = {},
    channel = change.channel or cur.channel, reason = change.reason or cur.reason,
    counted = cur.pc, shown = cur['t:delivered'] ~= nil or to == 'delivered'}
  local f = {}
  addField(f, 'interactionId', id)
  addField(f, 'visitId', cur.visitId)
  addField(f, 'pageId', shown or cur.pageId)
  addField(f, 'channel', t.channel)
  addField(f, 'reason', t.reason)
  addField(f, 'userData', cur.userData or '{}')
  appendEventIncr(keys.seq, keys.log, change.eventId, 'engagement.' .. to, change.at, f)
  addField(t.set, 'channel', change.channel)
  addField(t.set, 'reason', change.reason)
  if not cur.timeoutAt then addField(t.set, 'timeoutAt', timeoutAt) end
  addField(t.set, 'shownPageId', change.pageId)
  -- 'am' and 'gm': the attempt's members in progress (by visit, by browser), both in one command.
  local members = {}
  if cur.am then members[#members + 1] = ACTIVE_TAG .. cur.am end
  if cur.gm then members[#members + 1] = ACTIVE_BY_BROWSER_TAG .. cur.gm end
  if #members > 0 and isActive(state) and not isActive(to) then
    redis.call('ZREM', keys.index, unpack(members))
  elseif #members > 0 and isActive(to) and not isActive(state) then
    local scored = {}
    for _, member in ipairs(members) do
      scored[#scored + 1] = 0
      scored[#scored + 1] = member
    end
    redis.call('ZADD', keys.index, unpack(scored))
  end
  if to == 'delivered' and newTimeout then
    -- One ZADD for both: the expiry parked at +inf while it is shown (never due, never the next
    -- deadline while its timeout is there; it goes with the timeout when the attempt settles), and
    -- the timeout.
    redis.call('ZADD', keys.deadlines, '+inf', 'expire:' .. id, newTimeout, 'timeout:' .. id)
  else
    redis.call('ZREM', keys.deadlines, 'expire:' .. id, 'timeout:' .. id)
    if to == 'pending' then redis.call('ZADD', keys.deadlines, cur.expiresAt, 'expire:' .. id) end
  end
  -- An attempt moving between states in progress was never in the settled index.
  if not (isActive(state) and isActive(to)) then indexSettled(keys.settled, id, to, change.at) end
  return t
end

-- Writes what the change t still has for the attempt's hash (one HSET, one HDEL when anything goes) and
-- returns the hash after it, flat, as HGETALL would.
local function writeAttempt(attemptKey, t)
  redis.call('HSET', attemptKey, unpack(t.set))
  if #t.drop > 0 then redis.call('HDEL', attemptKey, unpack(t.drop)) end
  local after = t.cur
  for i = 1, #t.set, 2 do after[t.set[i]] = t.set[i + 1] end
  for _, field in ipairs(t.drop) do after[field] = nil end
  local flat = {}
  for field, value in pairs(after) do
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  return flat
end
