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

--- @include "includes/lex"
--- @include "includes/attempts"
--- @include "includes/attemptindex"

-- The visit's oldest attempt in progress placed by the rule of chooseTarget in src/core/placement.ts: it
-- stays on its page while that page is open, else goes to the page it was created for if open, else to
-- the first open page in attention order; with no page open it stays. The attempt's key is
-- attemptKeyPrefix .. its id: the one key a script names that is not in KEYS, since only the index
-- read here tells which attempt it is (under the store's hash tag like every other key).
-- Returns nil when the visit has none in progress, else its hash (flat, after the move) and, when it
-- moved, the page it was on ('' for none); false when it did not move.
local function placeVisitAttempt(attemptIndexKey, visitPagesKey, attemptKeyPrefix, visitId)
  local activePrefix = ACTIVE_TAG .. lexPrefix(visitId)
  local first = lexFirst(attemptIndexKey, activePrefix, 1)[1]
  if not first then return nil end
  local attemptKey = attemptKeyPrefix .. string.sub(first, #activePrefix + 38)
  local flat = redis.call('HGETALL', attemptKey)
  local state, shown, named, shownAt
  for i = 1, #flat, 2 do
    local field = flat[i]
    if field == 'state' then state = flat[i + 1]
    elseif field == 'shownPageId' then shown, shownAt = flat[i + 1], i + 1
    elseif field == 'pageId' then named = flat[i + 1] end
  end
  if not isActive(state) then return nil end
  if shown and redis.call('HEXISTS', visitPagesKey, shown) == 1 then return flat, false end
  local target = choosePage(visitPagesKey, named)
  if not target then return flat, false end
  redis.call('HSET', attemptKey, 'shownPageId', target)
  if shownAt then
    flat[shownAt] = target
  else
    flat[#flat + 1] = 'shownPageId'
    flat[#flat + 1] = target
  end
  return flat, shown or ''
end
