--[[
  The event log: a stream whose entry ids are '<seq>-0', and a string holding the newest seq.
  Two ways to take the next seq, which give the same seqs and may touch the same key in any order:
  appendEvent reads the seq (GET) and writes it back (SET) after the XADD, so that the XADD is the
  script's first write; appendEventIncr takes it with one INCR, a command fewer, for the scripts an
  invitation runs (docs/decisions.md, "Cost per page view"). Both keep the seq a decimal integer,
  which is what INCR reads and what GET answers after an INCR.
]]
--- @include "includes/clock"

-- The seq after a lost one: a new epoch at the Redis time in ms x 100, so that positions never repeat
-- after Redis lost its data (a reader holding an old Last-Event-ID resumes before every new event
-- instead of skipping some), as long as fewer than 100 000 events a second were written before; that
-- stays within the 15 digits a Last-Event-ID may have until 2286. Above the log's newest entry if it
-- survived.
local function newEpochSeq(logKey)
  local seq = redisMs() * 100
  local top = redis.call('XREVRANGE', logKey, '+', '-', 'COUNT', 1)[1]
  if top then
    local last = tonumber(string.match(top[1], '^(%d+)'))
    if last >= seq then seq = last + 1 end
  end
  return seq
end

-- The XADD of one event at seq (a string).
local function addEntry(logKey, id, eventId, eventType, at, fields)
  local args = {'XADD', logKey, id .. '-0', 'id', eventId, 'type', eventType, 'at', at}
  for i = 1, #fields do args[#args + 1] = fields[i] end
  return args
end

-- Appends one event to the log and returns its seq (a string). The XADD comes before any other write
-- of the script: it is the one write that Redis can refuse (an id not above the stream's top; under
-- maxmemory, the first write of a script).
local function appendEvent(seqKey, logKey, eventId, eventType, at, fields)
  local seq
  local current = redis.call('GET', seqKey)
  if current then
    seq = tonumber(current) + 1
  else
    seq = newEpochSeq(logKey)
  end
  local id = string.format('%d', seq)
  redis.call(unpack(addEntry(logKey, id, eventId, eventType, at, fields)))
  redis.call('SET', seqKey, id)
  return id
end

-- appendEvent with the seq taken by INCR: the same seq, two commands instead of three. INCR answers 1
-- only for a missing seq (no seq is ever 0: an epoch starts at the Redis time x 100), which then
-- starts a new epoch as appendEvent does. INCR is the script's first write, so that maxmemory
-- refuses it rather than a later one; an XADD refused after it (an id not above the stream's top)
-- puts the seq back before the error goes on, so that the script still changes nothing.
local function appendEventIncr(seqKey, logKey, eventId, eventType, at, fields)
  local seq = redis.call('INCR', seqKey)
  local fresh = seq == 1
  if fresh then
    seq = newEpochSeq(logKey)
    redis.call('SET', seqKey, string.format('%d', seq))
  end
  local id = string.format('%d', seq)
  local added = redis.pcall(unpack(addEntry(logKey, id, eventId, eventType, at, fields)))
  if type(added) == 'table' and added.err then
    if fresh then redis.call('DEL', seqKey) else redis.call('DECR', seqKey) end
    error(added)
  end
  return id
end
