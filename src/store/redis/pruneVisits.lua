--[[
  pruneVisits: one batch of the retention of pages and visits. The caller read the ids (closed pages,
  ended visits, by time) before, so each is checked again here: a page open again, or a visit with a page
  or an attempt in progress, stays. Pages first; at most 'limit' records go. An index entry whose record
  is gone (or whose page is open) is dropped without counting.

  KEYS[1] closedKey     closed pages by close time (zset)
  KEYS[2] endedKey      ended visits by retention time (zset)
  KEYS[3] activeKey     attempts in progress by visit (lex zset)
  KEYS[4] liveKey       live visits by start (zset)
  KEYS[5] idleKey       live visits with no open page (zset)
  KEYS[6] openKey       every open page (set)
  KEYS[7] openLiveKey   open pages of live visits (set)
  KEYS[8 .. 7 + pageCount]                        the pages (hashes), in the order of their ids below
  KEYS[8 + pageCount .. 7 + pageCount + visitCount]  the visits (hashes), likewise
  then visitCount more                            the visits' open pages (hashes), likewise

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
local activeKey = KEYS[3]
local liveKey = KEYS[4]
local idleKey = KEYS[5]
local openKey = KEYS[6]
local openLiveKey = KEYS[7]

local notAfter = ARGV[1]
local before = ARGV[2]
local limit = ARGV[3]
local pageCount = ARGV[4]
local visitCount = ARGV[5]

--- @include "includes/clock"
--- @include "includes/lex"

if isStale(notAfter) then return {'stale'} end
local beforeMs, max = tonumber(before), tonumber(limit)
local np, nv = tonumber(pageCount), tonumber(visitCount)
local dropped, staying = 0, 0
for i = 1, np do
  if dropped >= max then break end
  local pageId, pageKey = ARGV[5 + i], KEYS[7 + i]
  local closedAt = redis.call('HGET', pageKey, 'closedAt')
  if closedAt then
    if tonumber(closedAt) < beforeMs then
      redis.call('DEL', pageKey)
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
  local visitKey, visitPagesKey = KEYS[7 + np + i], KEYS[7 + np + nv + i]
  local endedAt = redis.call('HGET', visitKey, 'endedAt')
  local due = redis.call('ZSCORE', endedKey, visitId)
  if not endedAt then
    if redis.call('EXISTS', visitKey) == 0 then redis.call('ZREM', endedKey, visitId) end
  elseif due and tonumber(due) < beforeMs and redis.call('EXISTS', visitPagesKey) == 0
    and #lexFirst(activeKey, lexPrefix(visitId), 1) == 0 then
    redis.call('DEL', visitKey)
    redis.call('ZREM', endedKey, visitId)
    redis.call('ZREM', liveKey, visitId)
    redis.call('ZREM', idleKey, visitId)
    dropped = dropped + 1
  else
    staying = staying + 1
  end
end
return {'ok', dropped, staying}
