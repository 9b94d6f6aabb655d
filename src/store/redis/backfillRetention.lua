--[[
  backfillRetention: adds closed pages, ended visits and settled attempts found by a scan to the
  retention indexes they were written before, and visits, pages and attempts to the indexes of a
  browser's visits and a visit's history (retention-backfill.ts). Each record is judged on what it
  holds when the script runs; NX: an entry already there keeps its time.

  KEYS[1] closedKey   closed pages by close time (zset)
  KEYS[2] endedKey    ended visits by retention time (zset)
  KEYS[3] settledKey  settled attempts by settle time (zset)
  KEYS[4] visitsByBrowserKey    visits by browser (lex zset)
  KEYS[5] pagesByVisitKey       every page of a visit (lex zset)
  KEYS[6] attemptIndexKey       the index of attempts (lex zset; by browser and visit)
  KEYS[7 .. 6 + n]    the records (hashes), in the order of their kinds and ids below

  ARGV[1 .. n]        each record's kind: 'p' page, 'v' visit, 'a:<state>:<settled ms>' settled attempt,
                      'a' any other attempt
  ARGV[n + 1 .. 2n]   each record's id

  Returns {entries added to the retention indexes, entries added to the history indexes}.
]]
local closedKey = KEYS[1]
local endedKey = KEYS[2]
local settledKey = KEYS[3]
local visitsByBrowserKey = KEYS[4]
local pagesByVisitKey = KEYS[5]
local attemptIndexKey = KEYS[6]

--- @include "includes/history"
--- @include "includes/caps"
--- @include "includes/attemptindex"

local n = #KEYS - 6
local added, history = 0, 0
for i = 1, n do
  local key, kind, id = KEYS[6 + i], ARGV[i], ARGV[n + i]
  if string.sub(kind, 1, 1) == 'a' then
    local state, settledAt = string.match(kind, '^a:([%w_]+):(%d+)$')
    local a = redis.call('HMGET', key, 'state', 'hm', 'gm', 'visitId', 'createdAt')
    -- A terminal state never changes: an attempt still in it settled then (a pruned one is gone).
    if state and a[1] == state then
      added = added + redis.call('ZADD', settledKey, 'NX', settledAt, id)
    end
    -- Its browser and creation seq are in its member in progress by browser ('gm'); a tombstone has none.
    if a[1] and not a[2] and a[3] and a[4] then
      local browser = browserOf(a[3])
      local seq = string.sub(a[3], #lexPrefix(browser) + 1, #lexPrefix(browser) + 20)
      local hm = browserAttemptMember(browser, a[4], a[5], seq, id)
      redis.call('HSET', key, 'hm', hm)
      history = history + redis.call('ZADD', attemptIndexKey, 0, HISTORY_TAG .. hm)
    end
  elseif kind == 'p' then
    local p = redis.call('HMGET', key, 'closedAt', 'visitId', 'enteredAt', 'connectedAt')
    if p[1] then added = added + redis.call('ZADD', closedKey, 'NX', p[1], id) end
    -- Its first entry is not known: its last (re)connection stands for it.
    if p[2] and not p[3] and p[4] then
      redis.call('HSET', key, 'enteredAt', p[4])
      history = history + redis.call('ZADD', pagesByVisitKey, 0, visitPageMember(p[2], p[4], id))
    end
  else
    local v = redis.call('HMGET', key, 'endedAt', 'globalVisitId', 'startedAt')
    if v[1] then added = added + redis.call('ZADD', endedKey, 'NX', v[1], id) end
    if v[2] and v[3] then
      history = history + redis.call('ZADD', visitsByBrowserKey, 0, browserVisitMember(v[2], v[3], id))
    end
  end
end
return {added, history}
