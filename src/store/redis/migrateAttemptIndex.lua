--[[
  migrateAttemptIndex: moves one batch of an index that older versions kept in a key of its own (active,
  active:g, created or attempts:g) into the index of attempts, each member behind its family's tag
  (attempt-index.ts). A member moves only if it is still in the former key, so that two nodes migrating
  at once move it once, and running it again changes nothing; a member in progress (tags 'a:' and 'b:')
  moves only while its attempt is pending or delivered, and is dropped when the attempt settled or is
  gone. Redis deletes the former key with its last member.

  KEYS[1] attemptIndexKey   the index of attempts (lex zset)
  KEYS[2] formerKey         the former index the members are read from (lex zset)
  KEYS[3 .. 2 + count]      with the tags 'a:' and 'b:' only: the attempts (hashes) of the members below,
                            in their order

  ARGV[1] notAfter          the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] tag               the family's tag: 'a:', 'b:', 'c:' or 'h:'
  ARGV[3] count             how many members follow
  ARGV[4 .. 3 + count]      the members, as the caller read them from formerKey

  Returns {'ok', members moved, members dropped}, or {'stale'}.
]]
local attemptIndexKey = KEYS[1]
local formerKey = KEYS[2]

local notAfter = ARGV[1]
local tag = ARGV[2]
local count = ARGV[3]

--- @include "includes/clock"
--- @include "includes/attempts"
--- @include "includes/attemptindex"

if isStale(notAfter) then return {'stale'} end
if tag ~= ACTIVE_TAG and tag ~= ACTIVE_BY_BROWSER_TAG and tag ~= CREATED_TAG and tag ~= HISTORY_TAG then
  return redis.error_reply('migrateAttemptIndex: unknown tag ' .. tag)
end
local n = tonumber(count)
local inProgress = tag == ACTIVE_TAG or tag == ACTIVE_BY_BROWSER_TAG
if inProgress and #KEYS ~= 2 + n then
  return redis.error_reply('migrateAttemptIndex: members in progress need their attempts in KEYS')
end
local moved, dropped = 0, 0
local scored = {}
for i = 1, n do
  local member = ARGV[3 + i]
  if redis.call('ZREM', formerKey, member) == 1 then
    if not inProgress or isActive(redis.call('HGET', KEYS[2 + i], 'state')) then
      scored[#scored + 1] = 0
      scored[#scored + 1] = tag .. member
      moved = moved + 1
    else
      dropped = dropped + 1
    end
  end
end
if #scored > 0 then redis.call('ZADD', attemptIndexKey, unpack(scored)) end
return {'ok', moved, dropped}
