--[[
  The close of an open page, as closePage and leavePage make it.
]]
--- @include "includes/values"
--- @include "includes/events"
--- @include "includes/held"

-- Closes an open page of the visit (records page.left) and takes it out of its node's held pages; a visit
-- left with no open page becomes idle. With heldByNodeId, only while that boot still holds the page. A page
-- that closes after its visit ended moves the visit's retention time to now (ZADD GT), so that a visit is
-- never pruned before one of its pages. keys: {seq, log, page, visit, visitPages, open, openLive, idle, held,
-- closed, ended}. Returns whether it closed the page, and whether other pages of the visit are still open.
local function closeOpenPage(keys, eventId, pageId, visitId, now, heldByNodeId, heldByBootId)
  local p = redis.call('HMGET', keys.page, 'visitId', 'closedAt', 'nodeId', 'bootId')
  if not p[1] or p[1] ~= visitId or p[2] then return false, false end
  local heldNode, heldBoot = nullable(heldByNodeId), nullable(heldByBootId)
  if heldNode and (p[3] ~= heldNode or p[4] ~= heldBoot) then return false, false end
  appendEventIncr(keys.seq, keys.log, eventId, 'page.left', now, {'visitId', visitId, 'pageId', pageId})
  redis.call('HSET', keys.page, 'closedAt', now)
  if p[3] then redis.call('ZREM', keys.held, heldMember(p[3], p[4], pageId)) end
  redis.call('HDEL', keys.visitPages, pageId)
  redis.call('SREM', keys.open, pageId)
  redis.call('SREM', keys.openLive, pageId)
  redis.call('ZADD', keys.closed, now, pageId)
  local v = redis.call('HMGET', keys.visit, 'startedAt', 'endedAt')
  local othersOpen = redis.call('HLEN', keys.visitPages) > 0
  if v[2] then
    redis.call('ZADD', keys.ended, 'GT', now, visitId)
  elseif v[1] and not othersOpen then
    redis.call('HSET', keys.visit, 'idleSince', now)
    redis.call('ZADD', keys.idle, now, visitId)
  end
  return true, othersOpen
end
