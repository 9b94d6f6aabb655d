--[[
  The webhook outbox. A lane is what must go out in order (a visit's events: the lane is the visitId,
  else the interactionId, else ''). 'wh:q' holds the waiting deliveries as lex members
  '<lane prefix><seq, 20 digits>', so a lane's head is its first member; 'wh:ready' scores each lane
  by when its head is due; 'wh:d' keeps each waiting delivery as seq -> 'nextAt|attempts|lane'.
]]
--- @include "includes/lex"

local function laneMember(lane, seq)
  return lexPrefix(lane) .. string.format('%020d', tonumber(seq))
end

-- A waiting delivery's record 'nextAt|attempts|lane' as its three parts.
local function parseDelivery(record)
  local nextAt, attempts, lane = string.match(record, '^(%-?%d+)|(%d+)|(.*)$')
  return nextAt, attempts, lane
end

-- The oldest waiting delivery of a lane: its member and its seq, or nil.
local function laneHead(queueKey, lane)
  local prefix = lexPrefix(lane)
  local head = lexFirst(queueKey, prefix, 1)[1]
  if not head then return nil end
  return head, string.format('%d', tonumber(string.sub(head, #prefix + 1)))
end

-- The delivery 'seq' if it is still its lane's head (its member and lane), else nil: only the head is
-- ever settled, so a late or repeated acknowledgement (its lease ran out, another sender took it)
-- changes nothing.
local function headDelivery(queueKey, waitingKey, seq)
  local record = redis.call('HGET', waitingKey, seq)
  if not record then return nil end
  local _, _, lane = parseDelivery(record)
  local head, headSeq = laneHead(queueKey, lane)
  if headSeq ~= seq then return nil end
  return head, lane
end

-- After a lane's head went: the lane is due when its new head is, or leaves 'wh:ready'.
local function readyNext(queueKey, readyKey, waitingKey, lane)
  local _, seq = laneHead(queueKey, lane)
  local record = seq and redis.call('HGET', waitingKey, seq)
  if record then
    local nextAt = parseDelivery(record)
    redis.call('ZADD', readyKey, nextAt, lane)
  else
    redis.call('ZREM', readyKey, lane)
  end
end
