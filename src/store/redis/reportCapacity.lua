--[[
  reportCapacity: records a capacity report of a channel that has settings: it replaces the last one,
  and accepts counted since start again from 0. A channel without settings records nothing.

  KEYS[1] channelsKey     the settings of every channel (hash)
  KEYS[2] channelLoadKey  what the store counts of each channel (hash)

  ARGV[1] notAfter        the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] channel         the channel
  ARGV[3] freeSlots       as the contact centre reports them
  ARGV[4] at              when the store received the report (ms)

  Returns {'ok'}, {'none'} (no settings), or {'stale'}.
]]
local channelsKey = KEYS[1]
local channelLoadKey = KEYS[2]

local notAfter = ARGV[1]
local channel = ARGV[2]
local freeSlots = ARGV[3]
local at = ARGV[4]

--- @include "includes/clock"

if isStale(notAfter) then return {'stale'} end
if redis.call('HEXISTS', channelsKey, channel) == 0 then return {'none'} end
redis.call('HSET', channelLoadKey, 'fs:' .. channel, freeSlots, 'ra:' .. channel, at, 'as:' .. channel, 0)
return {'ok'}
