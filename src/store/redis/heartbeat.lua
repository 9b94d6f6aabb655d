--[[
  heartbeat: registers a boot of a node, or extends its registration. A boot heard of first registers;
  a forgotten (reaped) one is not registered again.

  KEYS[1] nodesKey   registered boots by expiry (zset)
  KEYS[2] reapedKey  boots forgotten as dead, by when (zset)

  ARGV[1] notAfter   the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] nodeId     the node
  ARGV[3] bootId     its boot
  ARGV[4] expiresAt  ms: until when the registration holds

  Returns {'ok', 'alive'}, {'ok', 'reaped'}, or {'stale'}.
]]
local nodesKey = KEYS[1]
local reapedKey = KEYS[2]

local notAfter = ARGV[1]
local nodeId = ARGV[2]
local bootId = ARGV[3]
local expiresAt = ARGV[4]

--- @include "includes/clock"
--- @include "includes/held"

if isStale(notAfter) then return {'stale'} end
local member = nodeMember(nodeId, bootId)
if redis.call('ZSCORE', reapedKey, member) then return {'ok', 'reaped'} end
redis.call('ZADD', nodesKey, expiresAt, member)
return {'ok', 'alive'}
