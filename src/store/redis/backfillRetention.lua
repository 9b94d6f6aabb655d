--[[
  backfillRetention: adds closed pages, ended visits and settled attempts found by a scan to the
  retention indexes they were written before (retention-backfill.ts). Each record is judged on what it
  holds when the script runs; NX: an entry already there keeps its time.

  KEYS[1] closedKey   closed pages by close time (zset)
  KEYS[2] endedKey    ended visits by retention time (zset)
  KEYS[3] settledKey  settled attempts by settle time (zset)
  KEYS[4 .. 3 + n]    the records (hashes), in the order of their kinds and ids below

  ARGV[1 .. n]        each record's kind: 'p' page, 'v' visit, 'a:<state>:<settled ms>' settled attempt
  ARGV[n + 1 .. 2n]   each record's id

  Returns how many entries it added.
]]
local closedKey = KEYS[1]
local endedKey = KEYS[2]
local settledKey = KEYS[3]

local n = #KEYS - 3
local added = 0
for i = 1, n do
  local key, kind, id = KEYS[3 + i], ARGV[i], ARGV[n + i]
  if string.sub(kind, 1, 2) == 'a:' then
    local state, settledAt = string.match(kind, '^a:([%w_]+):(%d+)$')
    -- A terminal state never changes: an attempt still in it settled then (a pruned one is gone).
    if state and redis.call('HGET', key, 'state') == state then
      added = added + redis.call('ZADD', settledKey, 'NX', settledAt, id)
    end
  elseif kind == 'p' then
    local closedAt = redis.call('HGET', key, 'closedAt')
    if closedAt then added = added + redis.call('ZADD', closedKey, 'NX', closedAt, id) end
  else
    local endedAt = redis.call('HGET', key, 'endedAt')
    if endedAt then added = added + redis.call('ZADD', endedKey, 'NX', endedAt, id) end
  end
end
return added
