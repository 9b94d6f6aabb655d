--[[
  claimWebhookDeliveries: claims the head of each due lane of the webhook outbox (see
  includes/outbox.lua), so that a visit's events go out in order, and leases each until leaseUntil.

  KEYS[1] logKey      the event log (stream)
  KEYS[2] queueKey    waiting deliveries by lane (lex zset)
  KEYS[3] readyKey    lanes by when their head is due (zset)
  KEYS[4] waitingKey  waiting deliveries: seq -> 'nextAt|attempts|lane' (hash)

  ARGV[1] notAfter    the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] now         ms
  ARGV[3] leaseUntil  ms: no other claim takes a claimed delivery before this
  ARGV[4] limit       the most lanes looked at

  Returns {'ok', {seq, attempts, event fields}...}, or {'stale'}.
]]
local logKey = KEYS[1]
local queueKey = KEYS[2]
local readyKey = KEYS[3]
local waitingKey = KEYS[4]

local notAfter = ARGV[1]
local now = ARGV[2]
local leaseUntil = ARGV[3]
local limit = ARGV[4]

--- @include "includes/clock"
--- @include "includes/outbox"

if isStale(notAfter) then return {'stale'} end
local lanes = redis.call('ZRANGEBYSCORE', readyKey, '-inf', now, 'LIMIT', 0, tonumber(limit))
local out = {'ok'}
for _, lane in ipairs(lanes) do
  local head, seq = laneHead(queueKey, lane)
  local record = seq and redis.call('HGET', waitingKey, seq)
  local entry = seq and redis.call('XRANGE', logKey, seq .. '-0', seq .. '-0')[1]
  if not head then
    redis.call('ZREM', readyKey, lane)
  elseif not record or not entry then
    -- Its event is gone (Redis lost data): drop it so the lane moves on.
    redis.call('ZREM', queueKey, head)
    redis.call('HDEL', waitingKey, seq)
    readyNext(queueKey, readyKey, waitingKey, lane)
  else
    local _, attempts = parseDelivery(record)
    redis.call('HSET', waitingKey, seq, leaseUntil .. '|' .. attempts .. '|' .. lane)
    redis.call('ZADD', readyKey, leaseUntil, lane)
    out[#out + 1] = {seq, attempts, entry[2]}
  end
end
return out
