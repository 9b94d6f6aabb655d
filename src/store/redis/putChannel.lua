--[[
  putChannel: stores a channel's settings (JSON, as the text the caller made), replacing any, and moves
  the settings' version on.

  KEYS[1] channelsKey         the settings of every channel (hash)
  KEYS[2] channelsVersionKey  the version of all settings (string)

  ARGV[1] notAfter     the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] channel      the channel
  ARGV[3] settings     JSON

  Returns {'ok', 1} when the channel had no settings before, {'ok', 0} when they were replaced, or {'stale'}.
]]
local channelsKey = KEYS[1]
local channelsVersionKey = KEYS[2]

local notAfter = ARGV[1]
local channel = ARGV[2]
local settings = ARGV[3]

--- @include "includes/clock"

if isStale(notAfter) then return {'stale'} end
local created = redis.call('HSET', channelsKey, channel, settings)
redis.call('INCR', channelsVersionKey)
return {'ok', created}
