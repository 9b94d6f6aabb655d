--[[
  eraseVisits: one step of a browser's erasure, the records first, so that nothing new can be recorded for
  them: the visits named (with their open pages, identity and business events, and their entries in every
  index), their pages, and their attempts (in progress ones too, their deadlines gone and their paced
  channels' counts settled), and every attempt of the browser (by browser and visit), those of visits retention
  already pruned too. Every step also forgets the browser's opt-out, cap declines and (up to 1000) cap
  budget entries, and remembers the erasure marker (renewed: the latest erasure's time, until
  'markerUntil'). Each visit erased, and the visit of each attempt erased, enters 'erasing' (score: the
  seq of its visit.started, where its events start in the log; 0: unknown, the log is read from its
  start), from which eraseEvents finds its events afterwards, even when a first call stopped half way.

  The caller read the visits (from visits:g), their pages (pages:v and their open pages) and the
  attempts (the browser's, and its attempts in progress, and the visits' in progress) first: if any
  of those indexes now names a page or attempt it did not pass, nothing is written and it reads again.

  KEYS[1]  optOutKey           browsers that opted out (hash)
  KEYS[2]  capBudgetKey        the browsers' cap budgets (lex zset)
  KEYS[3]  capBudgetByAgeKey   the same entries by time (zset)
  KEYS[4]  capDeclinedKey      browsers by their last decline (zset)
  KEYS[5]  visitsByBrowserKey  visits by browser (lex zset)
  KEYS[6]  pagesByVisitKey     every page of a visit (lex zset)
  KEYS[7]  attemptIndexKey     the index of attempts (lex zset: in progress by visit and by browser, by
                               creation, by browser and visit)
  KEYS[8]  liveKey             live visits (zset)
  KEYS[9]  idleKey             live visits with no open page (zset)
  KEYS[10] endedKey            ended visits (zset)
  KEYS[11] openKey             every open page (set)
  KEYS[12] openLiveKey         open pages of live visits (set)
  KEYS[13] closedKey           closed pages (zset)
  KEYS[14] heldKey             open pages by the node holding them (lex zset)
  KEYS[15] deadlinesKey        expiries and timeouts (zset)
  KEYS[16] settledKey          settled attempts by settle time (zset)
  KEYS[17] channelLoadKey      what the store counts of each channel (hash)
  KEYS[18] erasedKey           erasure markers (hash)
  KEYS[19] erasedUntilKey      erasure markers by when they are dropped (zset)
  KEYS[20] erasingKey          this erasure's visits (zset)
  then, visitCount each, in the order of the visit ids below: the visits (hashes), their open pages
  (hashes), identities (hashes), business events (lists); then pageCount pages (hashes); then
  attemptCount attempts (hashes)

  ARGV[1]  notAfter            the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  globalVisitId       the browser
  ARGV[3]  markerKey           the erasure marker (a keyed hash of the globalVisitId, never the id)
  ARGV[4]  markerUntil         ms: the marker is kept until then
  ARGV[5]  now                 ms
  ARGV[6]  acceptanceWindow    ACCEPTANCE_WINDOW (settling pacing counts)
  ARGV[7]  visitCount          how many visit ids follow
  ARGV[8]  pageCount           how many page ids follow them
  ARGV[9]  attemptCount        how many attempt ids follow those
  ARGV[10 ..]                  the visit ids, then the page ids, then the attempt ids

  Returns {'ok', visits, pages, business events, attempts} (how many of each went), {'retry'}, or
  {'stale'}.
]]
local optOutKey = KEYS[1]
local capBudgetKey = KEYS[2]
local capBudgetByAgeKey = KEYS[3]
local capDeclinedKey = KEYS[4]
local visitsByBrowserKey = KEYS[5]
local pagesByVisitKey = KEYS[6]
local attemptIndexKey = KEYS[7]
local liveKey = KEYS[8]
local idleKey = KEYS[9]
local endedKey = KEYS[10]
local openKey = KEYS[11]
local openLiveKey = KEYS[12]
local closedKey = KEYS[13]
local heldKey = KEYS[14]
local deadlinesKey = KEYS[15]
local settledKey = KEYS[16]
local channelLoadKey = KEYS[17]
local erasedKey = KEYS[18]
local erasedUntilKey = KEYS[19]
local erasingKey = KEYS[20]

local notAfter = ARGV[1]
local globalVisitId = ARGV[2]
local markerKey = ARGV[3]
local markerUntil = ARGV[4]
local now = ARGV[5]
local acceptanceWindow = ARGV[6]
local visitCount = ARGV[7]
local pageCount = ARGV[8]
local attemptCount = ARGV[9]

--- @include "includes/clock"
--- @include "includes/lex"
--- @include "includes/held"
--- @include "includes/history"
--- @include "includes/channels"
--- @include "includes/attemptindex"

-- Every index entry of these lists, at most this many each (a visit has far fewer).
local MAX_READ = 10000

if isStale(notAfter) then return {'stale'} end
local nv, np, na = tonumber(visitCount), tonumber(pageCount), tonumber(attemptCount)
local FIXED = 20
local visitIds, pageIds, attemptIds = {}, {}, {}
local passedPage, passedAttempt = {}, {}
for i = 1, nv do visitIds[i] = ARGV[9 + i] end
for i = 1, np do
  pageIds[i] = ARGV[9 + nv + i]
  passedPage[pageIds[i]] = true
end
for i = 1, na do
  attemptIds[i] = ARGV[9 + nv + np + i]
  passedAttempt[attemptIds[i]] = true
end

-- The check: every page and attempt the indexes name for these visits (and the browser's attempts in
-- progress) was passed.
local function idAfter(member, skip) return string.sub(member, skip + 1) end
for i, visitId in ipairs(visitIds) do
  local prefix = lexPrefix(visitId)
  for _, member in ipairs(lexFirst(pagesByVisitKey, prefix, MAX_READ)) do
    if not passedPage[idAfter(member, #prefix + 16)] then return {'retry'} end
  end
  for _, pageId in ipairs(redis.call('HKEYS', KEYS[FIXED + nv + i])) do
    if not passedPage[pageId] then return {'retry'} end
  end
  for _, member in ipairs(lexFirst(attemptIndexKey, ACTIVE_TAG .. prefix, MAX_READ)) do
    if not passedAttempt[idAfter(member, #ACTIVE_TAG + #prefix + 37)] then return {'retry'} end
  end
end
local browser = lexPrefix(globalVisitId)
for _, member in ipairs(lexFirst(attemptIndexKey, ACTIVE_BY_BROWSER_TAG .. browser, MAX_READ)) do
  if not passedAttempt[idAfter(member, #ACTIVE_BY_BROWSER_TAG + #browser + 21)] then return {'retry'} end
end
local history = HISTORY_TAG .. browser
for _, member in ipairs(lexFirst(attemptIndexKey, history, MAX_READ)) do
  local visitLength = string.match(member, '^(%d+):', #history + 1)
  if not passedAttempt[idAfter(member, #history + #visitLength + 2 + tonumber(visitLength) + 37)] then
    return {'retry'}
  end
end

-- The browser: its choices and caps, and the marker that refuses its old visit token.
redis.call('HDEL', optOutKey, globalVisitId)
redis.call('ZREM', capDeclinedKey, globalVisitId)
local budget = lexFirst(capBudgetKey, browser, 1000)
if #budget > 0 then
  redis.call('ZREM', capBudgetKey, unpack(budget))
  redis.call('ZREM', capBudgetByAgeKey, unpack(budget))
end
redis.call('HSET', erasedKey, markerKey, now .. ':' .. markerUntil)
redis.call('ZADD', erasedUntilKey, markerUntil, markerKey)
-- Markers past their time go (a few at a time, as erasures come).
local expired = redis.call('ZRANGEBYSCORE', erasedUntilKey, '-inf', '(' .. now, 'LIMIT', 0, 100)
if #expired > 0 then
  redis.call('HDEL', erasedKey, unpack(expired))
  redis.call('ZREM', erasedUntilKey, unpack(expired))
end

-- Its attempts: each goes with every entry that names it; one in progress leaves its channels' counts.
local attempts = 0
for i, id in ipairs(attemptIds) do
  local attemptKey = KEYS[FIXED + 4 * nv + np + i]
  local a = redis.call('HMGET', attemptKey, 'state', 'createdAt', 'am', 'gm', 'cm', 'hm', 'pc', 'visitId')
  if a[1] then
    if isActive(a[1]) then settleChannels(channelLoadKey, {counted = a[7] or nil, shown = false}, 'cancelled',
      tonumber(acceptanceWindow)) end
    redis.call('DEL', attemptKey)
    local entries = {createdMember(a[2], id)}
    if a[3] then entries[#entries + 1] = ACTIVE_TAG .. a[3] end
    if a[4] then entries[#entries + 1] = ACTIVE_BY_BROWSER_TAG .. a[4] end
    if a[6] then entries[#entries + 1] = HISTORY_TAG .. a[6] end
    redis.call('ZREM', attemptIndexKey, unpack(entries))
    if a[5] then
      redis.call('ZREM', capBudgetKey, a[5])
      redis.call('ZREM', capBudgetByAgeKey, a[5])
    end
    -- Its events are in the log under its visit, which may be gone already (pruned): read from the start.
    if a[8] then redis.call('ZADD', erasingKey, 'NX', 0, a[8]) end
    redis.call('ZREM', deadlinesKey, 'expire:' .. id, 'timeout:' .. id)
    redis.call('ZREM', settledKey, id)
    attempts = attempts + 1
  end
end

-- Its pages.
local pages = 0
for i, pageId in ipairs(pageIds) do
  local pageKey = KEYS[FIXED + 4 * nv + i]
  local p = redis.call('HMGET', pageKey, 'visitId', 'enteredAt', 'nodeId', 'bootId')
  if p[1] then
    redis.call('DEL', pageKey)
    if p[2] then redis.call('ZREM', pagesByVisitKey, visitPageMember(p[1], p[2], pageId)) end
    if p[3] and p[4] then redis.call('ZREM', heldKey, heldMember(p[3], p[4], pageId)) end
    pages = pages + 1
  end
  redis.call('SREM', openKey, pageId)
  redis.call('SREM', openLiveKey, pageId)
  redis.call('ZREM', closedKey, pageId)
end

-- Its visits, last: each is remembered in 'erasing' until its events have left the log.
local visits, events = 0, 0
for i, visitId in ipairs(visitIds) do
  local visitKey = KEYS[FIXED + i]
  local v = redis.call('HMGET', visitKey, 'globalVisitId', 'startedAt', 'ss')
  if v[1] == globalVisitId then
    events = events + redis.call('LLEN', KEYS[FIXED + 3 * nv + i])
    redis.call('DEL', visitKey, KEYS[FIXED + nv + i], KEYS[FIXED + 2 * nv + i], KEYS[FIXED + 3 * nv + i])
    redis.call('ZREM', visitsByBrowserKey, browserVisitMember(v[1], v[2], visitId))
    redis.call('ZREM', liveKey, visitId)
    redis.call('ZREM', idleKey, visitId)
    redis.call('ZREM', endedKey, visitId)
    redis.call('ZADD', erasingKey, tonumber(v[3] or '0'), visitId)
    visits = visits + 1
  end
end
return {'ok', visits, pages, events, attempts}
