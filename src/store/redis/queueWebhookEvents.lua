--[[
  queueWebhookEvents: moves newly recorded events of the wanted types into the webhook outbox (see
  includes/outbox.lua), at most 'limit' events scanned. The first call ever starts after the newest
  event, so that turning webhooks on does not replay history. Events older than 'oldest' are skipped.

  KEYS[1] logKey      the event log (stream)
  KEYS[2] cursorKey   the seq up to which the log was moved into the outbox (string)
  KEYS[3] queueKey    waiting deliveries by lane (lex zset)
  KEYS[4] readyKey    lanes by when their head is due (zset)
  KEYS[5] waitingKey  waiting deliveries: seq -> 'nextAt|attempts|lane' (hash)

  ARGV[1] notAfter    the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] now         ms
  ARGV[3] oldest      ms: events before this are skipped
  ARGV[4] limit       the most events scanned
  ARGV[5] types       the event types wanted, as ',a,b,' ('': all)

  Returns {'ok', how many events were scanned (0: caught up)}, or {'stale'}.
]]
local logKey = KEYS[1]
local cursorKey = KEYS[2]
local queueKey = KEYS[3]
local readyKey = KEYS[4]
local waitingKey = KEYS[5]

local notAfter = ARGV[1]
local now = ARGV[2]
local oldest = ARGV[3]
local limit = ARGV[4]
local types = ARGV[5]

--- @include "includes/clock"
--- @include "includes/outbox"

if isStale(notAfter) then return {'stale'} end
local cursor = redis.call('GET', cursorKey)
if not cursor then
  -- Webhooks were just turned on: start after the newest event, not with the whole history.
  local top = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)[1]
  local last = '0'
  if top then last = string.match(top[1], '^(%d+)') end
  redis.call('SET', cursorKey, last)
  return {'ok', 0}
end
local entries = redis.call('XRANGE', logKey, '(' .. cursor .. '-0', '+', 'COUNT', tonumber(limit))
if #entries == 0 then return {'ok', 0} end
local oldestMs = tonumber(oldest)
local last
for _, entry in ipairs(entries) do
  last = string.match(entry[1], '^(%d+)')
  local fields = {}
  local list = entry[2]
  for i = 1, #list, 2 do fields[list[i]] = list[i + 1] end
  if tonumber(fields.at) >= oldestMs and (types == '' or string.find(types, ',' .. fields.type .. ',', 1, true)) then
    local lane = fields.visitId or fields.interactionId or ''
    redis.call('ZADD', queueKey, 0, laneMember(lane, last))
    redis.call('HSET', waitingKey, last, now .. '|0|' .. lane)
    redis.call('ZADD', readyKey, 'NX', now, lane)
  end
end
redis.call('SET', cursorKey, last)
return {'ok', #entries}
