--[[
  The event log: a stream whose entry ids are '<seq>-0', and a string holding the newest seq.
]]
--- @include "includes/clock"

-- Appends one event to the log and returns its seq (a string). The XADD comes before any other write
-- of the script: it is the one write that Redis can refuse (an id not above the stream's top).
-- A missing seq starts a new epoch at the Redis time in ms x 100, so that positions never repeat
-- after Redis lost its data (a reader holding an old Last-Event-ID resumes before every new event
-- instead of skipping some), as long as fewer than 100 000 events a second were written before;
-- that stays within the 15 digits a Last-Event-ID may have until 2286.
local function appendEvent(seqKey, logKey, eventId, eventType, at, fields)
  local seq
  local current = redis.call('GET', seqKey)
  if current then
    seq = tonumber(current) + 1
  else
    seq = redisMs() * 100
    local top = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)[1]
    if top then
      local last = tonumber(string.match(top[1], '^(%d+)'))
      if last >= seq then seq = last + 1 end
    end
  end
  local id = string.format('%d', seq)
  local args = {'XADD', logKey, id .. '-0', 'id', eventId, 'type', eventType, 'at', at}
  for i = 1, #fields do args[#args + 1] = fields[i] end
  redis.call(unpack(args))
  redis.call('SET', seqKey, id)
  return id
end
