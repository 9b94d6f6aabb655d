--[[
  deleteChannel: removes a channel's settings and its capacity report. Its counts (in progress, the
  outcomes) stay, so that attempts still in progress settle them, and accepts from now on count again
  from 0.

  KEYS[1] channelsKey         the settings of every channel (hash)
  KEYS[2] channelLoadKey      what the store counts of each channel (hash)
  KEYS[3] channelsVersionKey  the version of all settings (string): moved on when settings go

  ARGV[1] notAfter        the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] channel         the channel

  Returns {'ok', 1} when it had settings, {'ok', 0} when it had none (nothing changed), or {'stale'}.
]]
local channelsKey = KEYS[1]
local channelLoadKey = KEYS[2]
local channelsVersionKey = KEYS[3]

local notAfter = ARGV[1]
local channel = ARGV[2]

--- @include "includes/clock"

if isStale(notAfter) then return {'stale'} end
if redis.call('HDEL', channelsKey, channel) == 0 then return {'ok', 0} end
redis.call('HDEL', channelLoadKey, 'fs:' .. channel, 'ra:' .. channel, 'as:' .. channel)
redis.call('INCR', channelsVersionKey)
return {'ok', 1}
