--[[
  pruneVisits: one batch of the retention of pages and visits. The caller read the ids (closed pages,
  ended visits, by time) before, so each is checked again here: a page open again, or a visit with a page
  or an attempt in progress, stays. Pages first; at most 'limit' records go. An index entry whose record
  is gone (or whose page is open) is dropped without counting. A visit goes with its identity, its
  business events and its entry among its browser's visits; its attempts keep naming it.

  KEYS[1] closedKey     closed pages by close time (zset)
  KEYS[2] endedKey      ended visits by retention time (zset)
  KEYS[3] attemptIndexKey the index of attempts (lex zset; a visit's in progress)
  KEYS[4] liveKey       live visits by start (zset)
  KEYS[5] idleKey       live visits with no open page (zset)
  KEYS[6] openKey       every open page (set)
  KEYS[7] openLiveKey   open pages of live visits (set)
  KEYS[8] pagesByVisitKey     every page of a visit (lex zset)
  KEYS[9] visitsByBrowserKey  visits by browser (lex zset)
  KEYS[10 .. 9 + pageCount]                        the pages (hashes), in the order of their ids below
  KEYS[10 + pageCount .. 9 + pageCount + visitCount]  the visits (hashes), likewise
  then visitCount more each, likewise: the visits' open pages (hashes), identities (hashes) and
  business events (lists)

  ARGV[1] notAfter      the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] before        ms: what closed or ended before this goes
  ARGV[3] limit         the most records that go
  ARGV[4] pageCount     how many page ids follow
  ARGV[5] visitCount    how many visit ids follow them
  ARGV[6 .. 5 + pageCount]  the page ids, then the visit ids

  Returns {'ok', how many went, how many of the visits stayed} (the caller reads past those next time,
  so that visits waiting for an attempt never stall it), or {'stale'}.
]]
local closedKey = KEYS[1]
local endedKey = KEYS[2]
local attemptIndexKey = KEYS[3]
local liveKey = KEYS[4]
local idleKey = KEYS[5]
local openKey = KEYS[6]
local openLiveKey = KEYS[7]
local pagesByVisitKey = KEYS[8]
local visitsByBrowserKey = KEYS[9]

local notAfter = ARGV[1]
local before = ARGV[2]
local limit = ARGV[3]
local pageCount = ARGV[4]
local visitCount = ARGV[5]

--- @include "includes/clock"
--- @include "includes/lex"
--- @include "includes/history"
--- @include "includes/attemptindex"

if isStale(notAfter) then return {'stale'} end
local beforeMs, max = tonumber(before), tonumber(limit)
local np, nv = tonumber(pageCount), tonumber(visitCount)
local dropped, staying = 0, 0
for i = 1, np do
  if dropped >= max then break end
  local pageId, pageKey = ARGV[5 + i], KEYS[9 + i]
  local page = redis.call('HMGET', pageKey, 'closedAt', 'visitId', 'enteredAt')
  local closedAt = page[1]
  if closedAt then
    if tonumber(closedAt) < beforeMs then
      redis.call('DEL', pageKey)
      if page[3] then redis.call('ZREM', pagesByVisitKey, visitPageMember(page[2], page[3], pageId)) end
      redis.call('ZREM', closedKey, pageId)
      redis.call('SREM', openKey, pageId)
      redis.call('SREM', openLiveKey, pageId)
      dropped = dropped + 1
    end
  else
    -- Gone, or open (openPage takes a page out of the index; an entry made otherwise must not linger).
    redis.call('ZREM', closedKey, pageId)
  end
end
for i = 1, nv do
  if dropped >= max then break end
  local visitId = ARGV[5 + np + i]
  local visitKey, visitPagesKey = KEYS[9 + np + i], KEYS[9 + np + nv + i]
  local identityKey, eventsKey = KEYS[9 + np + 2 * nv + i], KEYS[9 + np + 3 * nv + i]
  local visit = redis.call('HMGET', visitKey, 'endedAt', 'globalVisitId', 'startedAt')
  local endedAt = visit[1]
  local due = redis.call('ZSCORE', endedKey, visitId)
  if not endedAt then
    if redis.call('EXISTS', visitKey) == 0 then redis.call('ZREM', endedKey, visitId) end
  elseif due and tonumber(due) < beforeMs and redis.call('EXISTS', visitPagesKey) == 0
    and #lexFirst(attemptIndexKey, ACTIVE_TAG .. lexPrefix(visitId), 1) == 0 then
    redis.call('DEL', visitKey, identityKey, eventsKey)
    redis.call('ZREM', visitsByBrowserKey, browserVisitMember(visit[2], visit[3], visitId))
    redis.call('ZREM', endedKey, visitId)
    redis.call('ZREM', liveKey, visitId)
    redis.call('ZREM', idleKey, visitId)
    dropped = dropped + 1
  else
    staying = staying + 1
  end
end
return {'ok', dropped, staying}
