--[[
  transition: the compare-and-set of an attempt's state (records engagement.<to>), with its indexes and
  deadlines, its browser's cap budget, the report counters and the counts of the paced channels it
  counts on (includes/channels.lua).

  KEYS[1]  seqKey              the newest event's seq (string)
  KEYS[2]  logKey              the event log (stream)
  KEYS[3]  attemptKey          the attempt (hash)
  KEYS[4]  attemptIndexKey     the index of attempts (lex zset; its members in progress)
  KEYS[5]  deadlinesKey        expiries and timeouts (zset)
  KEYS[6]  capBudgetKey        the browsers' cap budgets (lex zset)
  KEYS[7]  capBudgetByAgeKey   the same entries by time (zset)
  KEYS[8]  capDeclinedKey      browsers by their last decline (zset)
  KEYS[9]  settledKey          settled attempts by settle time (zset)
  KEYS[10] reportHourKey       the report counters of the hour of 'at' (hash)
  KEYS[11] shownPageKey        the page it is shown on (hash; its 'path' is counted at a first show)
  KEYS[12] channelLoadKey      what the store counts of each channel (hash)

  ARGV[1]  notAfter            the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  eventId             the id of the engagement.<to> event
  ARGV[3]  interactionId       the attempt's id
  ARGV[4]  from                the states it may leave, as ',a,b,'
  ARGV[5]  to                  the state it enters
  ARGV[6]  at                  ms
  ARGV[7]  atIso               at as an ISO time
  ARGV[8]  visitId             only an attempt of this visit (nullable: any)
  ARGV[9]  channel             nullable
  ARGV[10] reason              nullable
  ARGV[11] timeoutAt           ms, set unless already set (nullable); '+': at plus the attempt's own
                               timeoutSeconds, unless already set
  ARGV[12] pageId              the page it is shown on (nullable)
  ARGV[13] maxQuietMs          how long a browser's last decline is kept (MAX_QUIET_MS)
  ARGV[14] reportExpireAt      when the hour's report counters expire (unix seconds)
  ARGV[15] answerBounds        the time-to-answer histogram's bounds ('' unless to is accepted or declined)
  ARGV[16] channelNamesCap     the most channel names an hour counts (REPORT_CAPS.ch)
  ARGV[17] reasonNamesCap      the most cancel reasons an hour counts (REPORT_CAPS.re)
  ARGV[18] shownPathsCap       the most page paths an hour counts shows on (REPORT_CAPS.ps)
  ARGV[19] acceptedPathsCap    the most page paths an hour counts accepts on (REPORT_CAPS.pa)
  ARGV[20] otherName           the name counted past those caps (OTHER)
  ARGV[21] noneName            the name counted for no channel or no reason (NONE)
  ARGV[22] acceptanceWindow    how many answered invitations a channel's acceptance rate looks at
                               (ACCEPTANCE_WINDOW)

  Returns {'ok', fields} (the attempt's hash after the change), {'none'} when it was not in a 'from'
  state (or is missing, or of another visit), or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local attemptKey = KEYS[3]
local attemptIndexKey = KEYS[4]
local deadlinesKey = KEYS[5]
local capBudgetKey = KEYS[6]
local capBudgetByAgeKey = KEYS[7]
local capDeclinedKey = KEYS[8]
local settledKey = KEYS[9]
local reportHourKey = KEYS[10]
local shownPageKey = KEYS[11]
local channelLoadKey = KEYS[12]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local interactionId = ARGV[3]
local from = ARGV[4]
local to = ARGV[5]
local at = ARGV[6]
local atIso = ARGV[7]
local visitId = ARGV[8]
local channel = ARGV[9]
local reason = ARGV[10]
local timeoutAt = ARGV[11]
local pageId = ARGV[12]
local maxQuietMs = ARGV[13]
local reportExpireAt = ARGV[14]
local answerBounds = ARGV[15]
local channelNamesCap = ARGV[16]
local reasonNamesCap = ARGV[17]
local shownPathsCap = ARGV[18]
local acceptedPathsCap = ARGV[19]
local otherName = ARGV[20]
local noneName = ARGV[21]
local acceptanceWindow = ARGV[22]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/transition"
--- @include "includes/caps"
--- @include "includes/reports"
--- @include "includes/channels"

if isStale(notAfter) then return {'stale'} end
if (to == 'accepted' or to == 'declined') and answerBounds == '' then
  return redis.error_reply('transition: an answer needs answerBounds')
end
local keys = {seq = seqKey, log = logKey, attempt = attemptKey, index = attemptIndexKey,
  deadlines = deadlinesKey, settled = settledKey}
local change = {eventId = eventId, id = interactionId, from = from, to = to, at = at, atIso = atIso,
  visitId = nullable(visitId), channel = nullable(channel), reason = nullable(reason),
  timeoutAt = timeoutAt ~= '+' and nullable(timeoutAt) or nil, timeoutFromAttempt = timeoutAt == '+',
  pageId = nullable(pageId)}
local t = applyTransition(keys, change)
if not t then return {'none'} end
capAfterTransition(t, capBudgetKey, capBudgetByAgeKey, capDeclinedKey, interactionId, to, tonumber(at),
  change.reason, tonumber(maxQuietMs))
local path = nil
if to == 'delivered' and not t.cur.rd then path = redis.call('HGET', shownPageKey, 'path') or nil end
local report = {hourKey = reportHourKey, expireAt = reportExpireAt, answerBounds = answerBounds,
  namesCap = {ch = tonumber(channelNamesCap), re = tonumber(reasonNamesCap), ps = tonumber(shownPathsCap),
    pa = tonumber(acceptedPathsCap)},
  other = otherName, none = noneName}
reportTransition(report, t, to, at, path)
local after = writeAttempt(attemptKey, t)
settleChannels(channelLoadKey, t, to, tonumber(acceptanceWindow))
return {'ok', after}
