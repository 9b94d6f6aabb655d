--[[
  Where a new attempt is shown: the page the caller named if it is open, else the first open page in
  attention order (visible and focused first, then visible, then the most recently active, then the
  most recently connected; ties by page id), the same order as byAttention in src/core/placement.ts.
]]

-- visitPagesKey: the visit's open pages, pageId -> 'visible focused activeAt connectedAt'.
-- Returns the page id, or nil when the visit has no open page. Looks at 1000 pages at most.
local function choosePage(visitPagesKey, named)
  if named and redis.call('HEXISTS', visitPagesKey, named) == 1 then return named end
  local all = redis.call('HGETALL', visitPagesKey)
  local best, bestRank, bestActive, bestConnected
  for i = 1, math.min(#all, 2000), 2 do
    local pageId = all[i]
    local visible, focused, activeAt, connectedAt = string.match(all[i + 1], '^(%d) (%d) (%-?%d+) (%-?%d+)$')
    local rank = 0
    if visible == '1' and focused == '1' then rank = 2 elseif visible == '1' then rank = 1 end
    activeAt = tonumber(activeAt)
    connectedAt = tonumber(connectedAt)
    if not best or rank > bestRank
      or (rank == bestRank and (activeAt > bestActive
        or (activeAt == bestActive and (connectedAt > bestConnected
          or (connectedAt == bestConnected and pageId < best))))) then
      best, bestRank, bestActive, bestConnected = pageId, rank, activeAt, connectedAt
    end
  end
  return best
end
