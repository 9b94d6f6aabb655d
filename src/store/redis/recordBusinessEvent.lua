--[[
  recordBusinessEvent: records a business event of an open page of a live visit (records page.event) and
  keeps it among the visit's latest ones (newest first, at most 'kept').

  KEYS[1] seqKey         the newest event's seq (string)
  KEYS[2] logKey         the event log (stream)
  KEYS[3] pageKey        the page (hash)
  KEYS[4] visitKey       its visit (hash)
  KEYS[5] eventsKey      the visit's latest business events (list)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] eventId        the id of the page.event event
  ARGV[3] visitId        the visit
  ARGV[4] pageId         the page
  ARGV[5] name           the business event's name
  ARGV[6] data           its data (JSON, as the store made it)
  ARGV[7] record         what the visit keeps of it: the JSON text {name, data, at, pageId}
  ARGV[8] now            ms
  ARGV[9] kept           how many the visit keeps (KEPT_BUSINESS_EVENTS)

  Returns {'ok', 1} when it was stored, {'ok', 0} when the page is not open, not of that visit, or the
  visit is not live, or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local pageKey = KEYS[3]
local visitKey = KEYS[4]
local eventsKey = KEYS[5]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local visitId = ARGV[3]
local pageId = ARGV[4]
local name = ARGV[5]
local data = ARGV[6]
local record = ARGV[7]
local now = ARGV[8]
local kept = ARGV[9]

--- @include "includes/clock"
--- @include "includes/events"

if isStale(notAfter) then return {'stale'} end
local page = redis.call('HMGET', pageKey, 'visitId', 'closedAt')
if page[1] ~= visitId or page[2] then return {'ok', 0} end
local visit = redis.call('HMGET', visitKey, 'startedAt', 'endedAt')
if not visit[1] or visit[2] then return {'ok', 0} end
appendEvent(seqKey, logKey, eventId, 'page.event', now,
  {'visitId', visitId, 'pageId', pageId, 'name', name, 'data', data})
redis.call('LPUSH', eventsKey, record)
redis.call('LTRIM', eventsKey, 0, tonumber(kept) - 1)
return {'ok', 1}
