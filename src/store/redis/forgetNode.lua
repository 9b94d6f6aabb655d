--[[
  forgetNode: forgets a dead boot. Only a boot still expired at 'now' goes; it is remembered as reaped
  (score: when), and reaped boots older than forgetReapedBefore are dropped (one range delete, no loop).

  KEYS[1] nodesKey            registered boots by expiry (zset)
  KEYS[2] reapedKey           boots forgotten as dead, by when (zset)

  ARGV[1] notAfter            the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] nodeId              the node
  ARGV[3] bootId              its boot
  ARGV[4] now                 ms
  ARGV[5] forgetReapedBefore  ms: reaped boots remembered since before this are dropped

  Returns {'ok', 1} when it forgot the boot, {'ok', 0} when the boot renewed or is unknown, or {'stale'}.
]]
local nodesKey = KEYS[1]
local reapedKey = KEYS[2]

local notAfter = ARGV[1]
local nodeId = ARGV[2]
local bootId = ARGV[3]
local now = ARGV[4]
local forgetReapedBefore = ARGV[5]

--- @include "includes/clock"
--- @include "includes/held"

if isStale(notAfter) then return {'stale'} end
local member = nodeMember(nodeId, bootId)
local expiresAt = redis.call('ZSCORE', nodesKey, member)
if not expiresAt or tonumber(expiresAt) >= tonumber(now) then return {'ok', 0} end
redis.call('ZREM', nodesKey, member)
redis.call('ZADD', reapedKey, now, member)
redis.call('ZREMRANGEBYSCORE', reapedKey, '-inf', '(' .. forgetReapedBefore)
return {'ok', 1}
