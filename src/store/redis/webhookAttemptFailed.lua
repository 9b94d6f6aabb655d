--[[
  webhookAttemptFailed: a delivery failed: it waits until retryAt, or, given up on, leaves the webhook
  outbox (see includes/outbox.lua) for the failed deliveries and its lane moves on. Only the lane's head
  is settled: a late or repeated report changes nothing.

  KEYS[1] queueKey    waiting deliveries by lane (lex zset)
  KEYS[2] readyKey    lanes by when their head is due (zset)
  KEYS[3] waitingKey  waiting deliveries: seq -> 'nextAt|attempts|lane' (hash)
  KEYS[4] failedKey   deliveries given up on: seq -> 'attempts|last error' (hash)

  ARGV[1] notAfter    the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] seq         the delivery (its event's seq)
  ARGV[3] attempts    the attempts made, as the caller counts them
  ARGV[4] retryAt     ms (nullable: give up)
  ARGV[5] lastError   what went wrong (at most 500 characters)

  Returns {'ok', 1} when it recorded the failure, {'ok', 0} when it was not its lane's head, or {'stale'}.
]]
local queueKey = KEYS[1]
local readyKey = KEYS[2]
local waitingKey = KEYS[3]
local failedKey = KEYS[4]

local notAfter = ARGV[1]
local seq = ARGV[2]
local attempts = ARGV[3]
local retryAt = ARGV[4]
local lastError = ARGV[5]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/outbox"

if isStale(notAfter) then return {'stale'} end
local head, lane = headDelivery(queueKey, waitingKey, seq)
if not head then return {'ok', 0} end
local retry = nullable(retryAt)
if retry then
  redis.call('HSET', waitingKey, seq, retry .. '|' .. attempts .. '|' .. lane)
  redis.call('ZADD', readyKey, retry, lane)
  return {'ok', 1}
end
-- Given up: kept as failed (attempts|last error), and the lane moves on.
redis.call('ZREM', queueKey, head)
redis.call('HDEL', waitingKey, seq)
redis.call('HSET', failedKey, seq, attempts .. '|' .. lastError)
readyNext(queueKey, readyKey, waitingKey, lane)
return {'ok', 1}
