--[[
  webhookDelivered: the receiver took a delivery: it leaves the webhook outbox (see includes/outbox.lua)
  and its lane moves on. Only the lane's head is settled: a late or repeated acknowledgement changes nothing.

  KEYS[1] queueKey    waiting deliveries by lane (lex zset)
  KEYS[2] readyKey    lanes by when their head is due (zset)
  KEYS[3] waitingKey  waiting deliveries: seq -> 'nextAt|attempts|lane' (hash)

  ARGV[1] notAfter    the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] seq         the delivery (its event's seq)

  Returns {'ok', 1} when it settled the delivery, {'ok', 0} when it was not its lane's head, or {'stale'}.
]]
local queueKey = KEYS[1]
local readyKey = KEYS[2]
local waitingKey = KEYS[3]

local notAfter = ARGV[1]
local seq = ARGV[2]

--- @include "includes/clock"
--- @include "includes/outbox"

if isStale(notAfter) then return {'stale'} end
local head, lane = headDelivery(queueKey, waitingKey, seq)
if not head then return {'ok', 0} end
redis.call('ZREM', queueKey, head)
redis.call('HDEL', waitingKey, seq)
readyNext(queueKey, readyKey, waitingKey, lane)
return {'ok', 1}
