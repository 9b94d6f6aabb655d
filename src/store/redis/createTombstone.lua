--[[
  createTombstone: records a cancelled attempt for an id never engaged (records engagement.cancelled),
  so that a late engage with that id is refused. Listed by the export (by creation), not counted
  in reports; settled at its creation.

  KEYS[1] seqKey         the newest event's seq (string)
  KEYS[2] logKey         the event log (stream)
  KEYS[3] attemptKey     the attempt (hash)
  KEYS[4] attemptIndexKey  the index of attempts (lex zset; by creation, by browser and visit)
  KEYS[5] settledKey     settled attempts by settle time (zset)
  KEYS[6] visitKey       the visit named (hash; any key when none is named)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] eventId        the id of the engagement.cancelled event
  ARGV[3] interactionId  the attempt's id
  ARGV[4] visitId        nullable
  ARGV[5] reason         nullable
  ARGV[6] now            ms
  ARGV[7] nowIso         now as an ISO time

  Returns {'created', fields} or {'exists', fields} (the attempt's hash), or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local attemptKey = KEYS[3]
local attemptIndexKey = KEYS[4]
local settledKey = KEYS[5]
local visitKey = KEYS[6]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local interactionId = ARGV[3]
local visitId = ARGV[4]
local reason = ARGV[5]
local now = ARGV[6]
local nowIso = ARGV[7]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/events"
--- @include "includes/attempts"
--- @include "includes/history"
--- @include "includes/attemptindex"

if isStale(notAfter) then return {'stale'} end
if redis.call('EXISTS', attemptKey) == 1 then return {'exists', redis.call('HGETALL', attemptKey)} end
local id = interactionId
local visit, why = nullable(visitId), nullable(reason)
local f = {}
addField(f, 'interactionId', id)
addField(f, 'visitId', visit)
addField(f, 'reason', why)
addField(f, 'userData', '{}')
local seq = appendEvent(seqKey, logKey, eventId, 'engagement.cancelled', now, f)
local h = {'id', id, 'state', 'cancelled', 'channels', '[]', 'invitation', '{}', 'timeoutSeconds', '0',
  'expirationSeconds', '0', 'userData', '{}', 'extras', '{}', 'createdAt', now, 'expiresAt', now,
  't:cancelled', nowIso}
addField(h, 'visitId', visit)
addField(h, 'reason', why)
-- A tombstone naming a visit that exists is part of its history (and of its browser's erasure).
local browser = visit and redis.call('HGET', visitKey, 'globalVisitId')
local hm = browser and browserAttemptMember(browser, visit, now, seq, id)
addField(h, 'hm', hm)
redis.call('HSET', attemptKey, unpack(h))
if hm then
  redis.call('ZADD', attemptIndexKey, 0, createdMember(now, id), 0, HISTORY_TAG .. hm)
else
  redis.call('ZADD', attemptIndexKey, 0, createdMember(now, id))
end
indexSettled(settledKey, id, 'cancelled', now)
return {'created', redis.call('HGETALL', attemptKey)}
