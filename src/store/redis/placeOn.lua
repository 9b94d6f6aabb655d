--[[
  placeOn: the compare-and-set of the page an invitation is placed on, only while it is in progress.

  KEYS[1] attemptKey  the attempt (hash)

  ARGV[1] notAfter    the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] expected    the page it must be placed on now (nullable: none)
  ARGV[3] pageId      the page to place it on (nullable: none)

  Returns {'ok', 1} when it moved it, {'ok', 0} when someone else moved it first or it settled, {'stale'}.
]]
local attemptKey = KEYS[1]

local notAfter = ARGV[1]
local expected = ARGV[2]
local pageId = ARGV[3]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/attempts"

if isStale(notAfter) then return {'stale'} end
local a = redis.call('HMGET', attemptKey, 'state', 'shownPageId')
if not isActive(a[1]) then return {'ok', 0} end
if orNil(a[2]) ~= nullable(expected) then return {'ok', 0} end
local page = nullable(pageId)
if page then
  redis.call('HSET', attemptKey, 'shownPageId', page)
else
  redis.call('HDEL', attemptKey, 'shownPageId')
end
return {'ok', 1}
