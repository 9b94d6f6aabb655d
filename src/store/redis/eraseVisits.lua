--[[
  eraseVisits: one step of a browser's erasure, the records first, so that nothing new can be recorded for
  them: the visits named (with their open pages, identity and business events, and their entries in every
  index), their pages, and their attempts (in progress ones too, their deadlines gone and their paced
  channels' counts settled), and every attempt of the browser (attempts:g), those of visits retention
  already pruned too. Every step also forgets the browser's opt-out, cap declines and (up to 1000) cap
  budget entries, and remembers the erasure marker (renewed: the latest erasure's time, until
  'markerUntil'). Each visit erased, and the visit of each attempt erased, enters 'erasing' (score: the
  seq of its visit.started, where its events start in the log; 0: unknown, the log is read from its
  start), from which eraseEvents finds its events afterwards, even when a first call stopped half way.

  The caller read the visits (from visits:g), their pages (pages:v and their open pages) and the
  attempts (the browser's in attempts:g and in active:g, the visits' in the active index) first: if any
  of those indexes now names a page or attempt it did not pass, nothing is written and it reads again.

  KEYS[1]  optOutKey           browsers that opted out (hash)
  KEYS[2]  capBudgetKey        the browsers' cap budgets (lex zset)
  KEYS[3]  capBudgetByAgeKey   the same entries by time (zset)
  KEYS[4]  capDeclinedKey      browsers by their last decline (zset)
  KEYS[5]  visitsByBrowserKey  visits by browser (lex zset)
  KEYS[6]  pagesByVisitKey     every page of a visit (lex zset)
  KEYS[7]  attemptsByBrowserKey  every attempt by browser and visit (lex zset)
  KEYS[8]  liveKey             live visits (zset)
  KEYS[9]  idleKey             live visits with no open page (zset)
  KEYS[10] endedKey            ended visits (zset)
  KEYS[11] openKey             every open page (set)
  KEYS[12] openLiveKey         open pages of live visits (set)
  KEYS[13] closedKey           closed pages (zset)
  KEYS[14] heldKey             open pages by the node holding them (lex zset)
  KEYS[15] activeKey           attempts in progress by visit (lex zset)
  KEYS[16] activeByBrowserKey  attempts in progress by browser (lex zset)
  KEYS[17] deadlinesKey        expiries and timeouts (zset)
  KEYS[18] createdKey          every attempt by creation (lex zset)
  KEYS[19] settledKey          settled attempts by settle time (zset)
  KEYS[20] channelLoadKey      what the store counts of each channel (hash)
  KEYS[21] erasedKey           erasure markers (hash)
  KEYS[22] erasedUntilKey      erasure markers by when they are dropped (zset)
  KEYS[23] erasingKey          this erasure's visits (zset)
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
local attemptsByBrowserKey = KEYS[7]
local liveKey = KEYS[8]
local idleKey = KEYS[9]
local endedKey = KEYS[10]
local openKey = KEYS[11]
local openLiveKey = KEYS[12]
local closedKey = KEYS[13]
local heldKey = KEYS[14]
local activeKey = KEYS[15]
local activeByBrowserKey = KEYS[16]
local deadlinesKey = KEYS[17]
local createdKey = KEYS[18]
local settledKey = KEYS[19]
local channelLoadKey = KEYS[20]
local erasedKey = KEYS[21]
local erasedUntilKey = KEYS[22]
local erasingKey = KEYS[23]

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

-- Every index entry of these lists, at most this many each (a visit has far fewer).
local MAX_READ = 10000

if isStale(notAfter) then return {'stale'} end
local nv, np, na = tonumber(visitCount), tonumber(pageCount), tonumber(attemptCount)
local FIXED = 23
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
  for _, member in ipairs(lexFirst(activeKey, prefix, MAX_READ)) do
    if not passedAttempt[idAfter(member, #prefix + 37)] then return {'retry'} end
  end
end
local browser = lexPrefix(globalVisitId)
for _, member in ipairs(lexFirst(activeByBrowserKey, browser, MAX_READ)) do
  if not passedAttempt[idAfter(member, #browser + 21)] then return {'retry'} end
end
for _, member in ipairs(lexFirst(attemptsByBrowserKey, browser, MAX_READ)) do
  local visitLength = string.match(member, '^(%d+):', #browser + 1)
  if not passedAttempt[idAfter(member, #browser + #visitLength + 2 + tonumber(visitLength) + 37)] then
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
    if a[3] then redis.call('ZREM', activeKey, a[3]) end
    if a[4] then redis.call('ZREM', activeByBrowserKey, a[4]) end
    if a[5] then
      redis.call('ZREM', capBudgetKey, a[5])
      redis.call('ZREM', capBudgetByAgeKey, a[5])
    end
    if a[6] then redis.call('ZREM', attemptsByBrowserKey, a[6]) end
    -- Its events are in the log under its visit, which may be gone already (pruned): read from the start.
    if a[8] then redis.call('ZADD', erasingKey, 'NX', 0, a[8]) end
    redis.call('ZREM', deadlinesKey, 'expire:' .. id, 'timeout:' .. id)
    redis.call('ZREM', createdKey, string.format('%015d:', tonumber(a[2])) .. id)
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
