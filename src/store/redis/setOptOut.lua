--[[
  setOptOut: records a browser's choice about invitations. Opting out declines its attempts in progress
  (reason 'opted-out', one engagement.declined event each, settling the counts of the paced channels
  each counts on). The caller read those attempts first (their
  keys must come in KEYS); if another one started since, nothing is written and it reads again.

  KEYS[1] seqKey              the newest event's seq (string)
  KEYS[2] logKey              the event log (stream)
  KEYS[3] optOutKey           browsers that opted out (hash)
  KEYS[4] attemptIndexKey     the index of attempts (lex zset; its members in progress)
  KEYS[5] deadlinesKey        expiries and timeouts (zset)
  KEYS[6] settledKey          settled attempts by settle time (zset)
  KEYS[7] reportHourKey       the report counters of this hour (hash)
  KEYS[8] channelLoadKey      what the store counts of each channel (hash)
  KEYS[9 .. 8 + count]        the attempts' hashes, in the order of their ids below

  ARGV[1] notAfter            the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] globalVisitId       the browser
  ARGV[3] optedOut            '1' to opt out, '0' to opt in again
  ARGV[4] now                 ms
  ARGV[5] nowIso              now as an ISO time
  ARGV[6] count               how many attempts in progress the caller read
  ARGV[7] reportExpireAt      when this hour's report counters expire (unix seconds)
  ARGV[8] answerBounds        the time-to-answer histogram's bounds ('' when opting in)
  ARGV[9] acceptanceWindow    how many answered invitations a channel's acceptance rate looks at
                              (ACCEPTANCE_WINDOW)
  ARGV[10 .. 9 + count]       the attempts' ids
  ARGV[10 + count .. 9 + 2 * count]  one event id for each

  Returns {'ok', fields...} (the hashes of the attempts it declined), {'retry'}, or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local optOutKey = KEYS[3]
local attemptIndexKey = KEYS[4]
local deadlinesKey = KEYS[5]
local settledKey = KEYS[6]
local reportHourKey = KEYS[7]
local channelLoadKey = KEYS[8]

local notAfter = ARGV[1]
local globalVisitId = ARGV[2]
local optedOut = ARGV[3]
local now = ARGV[4]
local nowIso = ARGV[5]
local count = ARGV[6]
local reportExpireAt = ARGV[7]
local answerBounds = ARGV[8]
local acceptanceWindow = ARGV[9]

--- @include "includes/clock"
--- @include "includes/lex"
--- @include "includes/transition"
--- @include "includes/reports"
--- @include "includes/channels"

if isStale(notAfter) then return {'stale'} end
if optedOut ~= '1' then
  redis.call('HDEL', optOutKey, globalVisitId)
  return {'ok'}
end
local n = tonumber(count)
if n > 0 and answerBounds == '' then return redis.error_reply('setOptOut: a decline needs answerBounds') end
local passed = {}
for i = 1, n do passed[ARGV[9 + i]] = true end
-- '<tag><browser prefix><seq, 20 digits>:<id>'
local browserPrefix = ACTIVE_BY_BROWSER_TAG .. lexPrefix(globalVisitId)
for _, member in ipairs(lexFirst(attemptIndexKey, browserPrefix, n + 1)) do
  if not passed[string.sub(member, #browserPrefix + 22)] then return {'retry'} end
end
local keys = {seq = seqKey, log = logKey, index = attemptIndexKey, deadlines = deadlinesKey, settled = settledKey}
-- A decline counts no channel, reason or path: the report needs only its hour and the histogram.
local report = {hourKey = reportHourKey, expireAt = reportExpireAt, answerBounds = answerBounds}
local out = {'ok'}
for i = 1, n do
  keys.attempt = KEYS[8 + i]
  local change = {eventId = ARGV[9 + n + i], id = ARGV[9 + i], from = ',pending,delivered,', to = 'declined',
    at = now, atIso = nowIso, reason = 'opted-out'}
  local t = applyTransition(keys, change)
  if t then
    reportTransition(report, t, 'declined', now, nil)
    out[#out + 1] = writeAttempt(keys.attempt, t)
    settleChannels(channelLoadKey, t, 'declined', tonumber(acceptanceWindow))
  end
end
redis.call('HSET', optOutKey, globalVisitId, '1')
return out
