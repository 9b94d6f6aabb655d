--[[
  createAttempt: creates a pending attempt (records engagement.pending) unless one with this id exists,
  the visit is not live, the browser opted out, the visit has an attempt in progress (exclusive), a
  frequency cap refuses it or pacing closes every channel asked for; with place, it is also placed on a
  page in the same write when it is the visit's oldest attempt in progress (the one to show). Pacing
  (includes/channels.lua) decides each paced channel on the counts as they are now: the channels offered
  are those asked for less the paced ones closed, and the attempt counts as in progress on each paced
  one it offers. A refusal (but for an id that exists) is counted in the report hour as 'rf:<code>'.

  KEYS[1]  seqKey              the newest event's seq (string)
  KEYS[2]  logKey              the event log (stream)
  KEYS[3]  attemptKey          the attempt (hash)
  KEYS[4]  visitKey            its visit (hash)
  KEYS[5]  optOutKey           browsers that opted out (hash)
  KEYS[6]  attemptIndexKey     the index of attempts (lex zset: in progress by visit and by browser,
                               by creation, by browser and visit)
  KEYS[7]  visitPagesKey       the visit's open pages (hash)
  KEYS[8]  deadlinesKey        expiries and timeouts (zset)
  KEYS[9]  capBudgetKey        the browsers' cap budgets (lex zset)
  KEYS[10] capBudgetByAgeKey   the same entries by time (zset)
  KEYS[11] capDeclinedKey      browsers by their last decline (zset)
  KEYS[12] reportHourKey       the report counters of this hour (hash)
  KEYS[13] channelLoadKey      what the store counts of each channel (hash)
  KEYS[14] channelsVersionKey  the version of the channel settings (string)

  ARGV[1]  notAfter            the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  eventId             the id of the engagement.pending event
  ARGV[3]  interactionId       the attempt's id
  ARGV[4]  visitId             its visit
  ARGV[5]  pageId              the page the caller named (nullable)
  ARGV[6]  channels            JSON
  ARGV[7]  invitation          JSON
  ARGV[8]  timeoutSeconds      how long it may be shown unanswered
  ARGV[9]  expirationSeconds   how long it may wait for a page
  ARGV[10] userData            JSON
  ARGV[11] extras              JSON
  ARGV[12] now                 ms
  ARGV[13] nowIso              now as an ISO time
  ARGV[14] expiresAt           ms
  ARGV[15] exclusive           '1': refused while the visit has an attempt in progress
  ARGV[16] place               '1': place it on a page if it is the one to show
  ARGV[17] capPerDay           the per-day cap (nullable: off)
  ARGV[18] capAfterDeclineMs   the quiet time after a decline, ms (nullable: off)
  ARGV[19] capWindowMs         the window the per-day cap counts in (CAP_WINDOW_MS)
  ARGV[20] capKeepMs           how long budget entries are kept (CAP_KEEP_MS)
  ARGV[21] reportExpireAt      when this hour's report counters expire (unix seconds)
  ARGV[22] minAnsweredForRate  answered invitations before a measured acceptance rate counts
                               (MIN_ANSWERED_FOR_RATE)
  ARGV[23] channelsVersion     the version of the channel settings the pacing below was made from ('':
                               not checked); when they moved on, nothing else is checked or written
  ARGV[24] askedCount          how many asked channels follow: 0 when none of them is paced (then
                               nothing is decided and channels is stored as it comes)
  ARGV[25 .. 24 + 9 * askedCount]  9 per channel asked for, in the order asked (askedChannels in
                               includes/channels.lua): the channel, its JSON text, mode ('' when it is
                               not paced, and the rest ''), hoursOpen ('1' or '0'), maxOnScreen
                               (nullable as ''), proactiveShare, initialAcceptanceRate,
                               minAcceptanceRate, capacityStaleSeconds

  Returns {'created', fields} or {'exists', fields} (the attempt's hash), {'no-visit'}, {'opted-out'},
  {'visit-busy', interactionId of the attempt in progress}, {'capped', cap, retryAfter ms},
  {'no-capacity', channel, reason, …} (every channel asked for, in order), {'channels-changed'},
  {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local attemptKey = KEYS[3]
local visitKey = KEYS[4]
local optOutKey = KEYS[5]
local attemptIndexKey = KEYS[6]
local visitPagesKey = KEYS[7]
local deadlinesKey = KEYS[8]
local capBudgetKey = KEYS[9]
local capBudgetByAgeKey = KEYS[10]
local capDeclinedKey = KEYS[11]
local reportHourKey = KEYS[12]
local channelLoadKey = KEYS[13]
local channelsVersionKey = KEYS[14]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local interactionId = ARGV[3]
local visitId = ARGV[4]
local pageId = ARGV[5]
local channels = ARGV[6]
local invitation = ARGV[7]
local timeoutSeconds = ARGV[8]
local expirationSeconds = ARGV[9]
local userData = ARGV[10]
local extras = ARGV[11]
local now = ARGV[12]
local nowIso = ARGV[13]
local expiresAt = ARGV[14]
local exclusive = ARGV[15]
local place = ARGV[16]
local capPerDay = ARGV[17]
local capAfterDeclineMs = ARGV[18]
local capWindowMs = ARGV[19]
local capKeepMs = ARGV[20]
local reportExpireAt = ARGV[21]
local minAnsweredForRate = ARGV[22]
local channelsVersion = ARGV[23]
local askedCount = ARGV[24]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/lex"
--- @include "includes/events"
--- @include "includes/placement"
--- @include "includes/caps"
--- @include "includes/reports"
--- @include "includes/channels"
--- @include "includes/history"
--- @include "includes/attemptindex"

-- A refusal: counted in the report hour under its FAULT code, the one write it makes.
local function refuse(code, reply)
  reportRefused(reportHourKey, reportExpireAt, code)
  return reply
end

if isStale(notAfter) then return {'stale'} end
if redis.call('EXISTS', attemptKey) == 1 then return {'exists', redis.call('HGETALL', attemptKey)} end
if channelsVersion ~= '' and (redis.call('GET', channelsVersionKey) or '0') ~= channelsVersion then
  return {'channels-changed'}
end
local visit = redis.call('HMGET', visitKey, 'globalVisitId', 'endedAt')
if not visit[1] or visit[2] then return refuse('UNKNOWN_VISIT', {'no-visit'}) end
local browser = visit[1]
if redis.call('HGET', optOutKey, browser) == '1' then return refuse('VISITOR_OPTED_OUT', {'opted-out'}) end
local id, namedPage, nowMs = interactionId, nullable(pageId), tonumber(now)
local visitPrefix = lexPrefix(visitId)
-- The visit's oldest attempt in progress: '<tag><visit prefix><createdAt, 15 digits>:<seq, 20 digits>:<id>'.
local activePrefix = ACTIVE_TAG .. visitPrefix
local first = lexFirst(attemptIndexKey, activePrefix, 1)[1]
if exclusive == '1' and first then
  return refuse('ENGAGEMENT_IN_PROGRESS', {'visit-busy', string.sub(first, #activePrefix + 38)})
end
-- Caps on (either set): checked here, and the attempt enters the browser's budget below.
local capsOn = capPerDay ~= '' or capAfterDeclineMs ~= ''
if capsOn then
  local capped = capRefusal(capBudgetKey, capDeclinedKey, browser, nowMs, tonumber(nullable(capPerDay)),
    tonumber(nullable(capAfterDeclineMs)), tonumber(capWindowMs))
  if capped then return refuse('VISITOR_CAPPED', capped) end
end
-- Pacing last: the channels offered are those asked for, less the paced ones closed now (none paced:
-- nothing read, the channels as they come).
local offered, countedOn, narrowed = channels, {}, false
local asked = askedChannels(ARGV, 25, tonumber(askedCount))
if #asked > 0 then
  local reasons = decideAsked(channelLoadKey, asked, nowMs, tonumber(minAnsweredForRate))
  local open, closed = {}, {'no-capacity'}
  for i, c in ipairs(asked) do
    if reasons[i] then
      closed[#closed + 1] = c.channel
      closed[#closed + 1] = reasons[i]
    else
      open[#open + 1] = c.json
      if c.pacing then countedOn[#countedOn + 1] = c.channel end
    end
  end
  if #open == 0 then return refuse('NO_CAPACITY', closed) end
  narrowed = #open < #asked
  if narrowed then offered = '[' .. table.concat(open, ',') .. ']' end
end
local shown = nil
if place == '1' and (not first or tonumber(string.sub(first, #activePrefix + 1, #activePrefix + 15)) > nowMs) then
  shown = choosePage(visitPagesKey, namedPage)
end
-- The event as the SQLite store records it: before placement, so its page is the one the caller named.
local f = {}
addField(f, 'interactionId', id)
addField(f, 'visitId', visitId)
addField(f, 'pageId', namedPage)
addField(f, 'userData', userData)
local seq = appendEventIncr(seqKey, logKey, eventId, 'engagement.pending', now, f)
-- 'am' and 'gm': its members in progress, by visit (in creation order) and by browser.
local am = visitPrefix .. string.format('%015d:%020d:', nowMs, tonumber(seq)) .. id
local gm = lexPrefix(browser) .. string.format('%020d:', tonumber(seq)) .. id
-- 'hm': its member by browser and visit (history member), for its visit's history and its browser's erasure.
local hm = browserAttemptMember(browser, visitId, nowMs, seq, id)
local h = {'id', id, 'visitId', visitId, 'state', 'pending', 'channels', offered, 'invitation', invitation,
  'timeoutSeconds', timeoutSeconds, 'expirationSeconds', expirationSeconds, 'userData', userData,
  'extras', extras, 'createdAt', now, 'expiresAt', expiresAt, 't:pending', nowIso, 'am', am, 'gm', gm, 'hm', hm}
addField(h, 'pageId', namedPage)
addField(h, 'shownPageId', shown)
addField(h, 'pc', countOn(channelLoadKey, countedOn))
if capsOn then
  addField(h, 'cm', capReserve(capBudgetKey, capBudgetByAgeKey, browser, id, nowMs, tonumber(capKeepMs)))
end
redis.call('HSET', attemptKey, unpack(h))
-- Its four entries in the index of attempts in one command: in progress by visit and by browser, by
-- creation, by browser and visit.
redis.call('ZADD', attemptIndexKey, 0, ACTIVE_TAG .. am, 0, ACTIVE_BY_BROWSER_TAG .. gm, 0, createdMember(nowMs, id),
  0, HISTORY_TAG .. hm)
redis.call('ZADD', deadlinesKey, expiresAt, 'expire:' .. id)
reportCreated(reportHourKey, reportExpireAt, narrowed)
-- The hash as written: what HGETALL would answer.
return {'created', h}
