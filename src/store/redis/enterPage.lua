--[[
  enterPage: a page view's entry in one step. Resumes the visit if it is live (with a browser to start it
  for: starts it if it does not exist, recording visit.started), opens the page as openPage does (records
  page.entered when it enters: new, or open again after it closed; the page moves to the node (boot) it
  (re)connected through, or to none), places the visit's invitation (placeVisitAttempt in
  includes/placement.lua) and reads the browser's opt-out. A live visit idle for visitIdleMs or more has
  ended all the same: it is ended here (records visit.ended) and nothing else is done.

  KEYS[1]  seqKey              the newest event's seq (string)
  KEYS[2]  logKey              the event log (stream)
  KEYS[3]  visitKey            the visit (hash)
  KEYS[4]  liveKey             live visits by start (zset)
  KEYS[5]  idleKey             live visits with no open page (zset)
  KEYS[6]  endedKey            ended visits by retention time (zset)
  KEYS[7]  visitsByBrowserKey  visits by browser (lex zset)
  KEYS[8]  pageKey             the page (hash)
  KEYS[9]  visitPagesKey       the visit's open pages (hash)
  KEYS[10] openKey             every open page (set)
  KEYS[11] openLiveKey         open pages of live visits (set)
  KEYS[12] heldKey             open pages by the node holding them (lex zset)
  KEYS[13] closedKey           closed pages by close time (zset)
  KEYS[14] pagesByVisitKey     every page of a visit (lex zset)
  KEYS[15] optOutKey           browsers that opted out (hash)
  KEYS[16] attemptIndexKey     the index of attempts (lex zset; a visit's in progress)

  ARGV[1]  notAfter            the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  startEventId        the id of the visit.started event
  ARGV[3]  pageEventId         the id of the page.entered event
  ARGV[4]  endEventId          the id of the visit.ended event
  ARGV[5]  visitId             the visit
  ARGV[6]  startFor            the browser to start the visit for if it does not exist (nullable: resume only)
  ARGV[7]  pageId              the page
  ARGV[8]  url                 the page's URL
  ARGV[9]  title               the page's title
  ARGV[10] visible             '1' or '0'
  ARGV[11] focused             '1' or '0'
  ARGV[12] locale              nullable
  ARGV[13] now                 ms
  ARGV[14] nodeId              the node holding its socket (nullable: none)
  ARGV[15] bootId              that node's boot (nullable: none)
  ARGV[16] path                the URL's path as reports count it (reportPath in src/core/reports.ts)
  ARGV[17] visitIdleMs         how long a visit with no open page lives on (ms)
  ARGV[18] attemptKeyPrefix    an attempt's key less its id (keys.ts)

  Returns {'stale'}; {'not-live', ended (1: this call ended the visit, else 0)}; or {'entered',
  globalVisitId, started (0/1), opened (2: the page entered; 1: a reconnect of a page still open; 0:
  refused, the page id belongs to another visit), optedOut (0/1), moved ('-': the invitation did not move;
  '': it moved from no page; '=' .. pageId: from that page), the visit's attempt in progress after
  placement (flat hash, empty when none)}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local visitKey = KEYS[3]
local liveKey = KEYS[4]
local idleKey = KEYS[5]
local endedKey = KEYS[6]
local visitsByBrowserKey = KEYS[7]
local pageKey = KEYS[8]
local visitPagesKey = KEYS[9]
local openKey = KEYS[10]
local openLiveKey = KEYS[11]
local heldKey = KEYS[12]
local closedKey = KEYS[13]
local pagesByVisitKey = KEYS[14]
local optOutKey = KEYS[15]
local attemptIndexKey = KEYS[16]

local notAfter = ARGV[1]
local startEventId = ARGV[2]
local pageEventId = ARGV[3]
local endEventId = ARGV[4]
local visitId = ARGV[5]
local startFor = ARGV[6]
local pageId = ARGV[7]
local url = ARGV[8]
local title = ARGV[9]
local visible = ARGV[10]
local focused = ARGV[11]
local locale = ARGV[12]
local now = ARGV[13]
local nodeId = ARGV[14]
local bootId = ARGV[15]
local path = ARGV[16]
local visitIdleMs = ARGV[17]
local attemptKeyPrefix = ARGV[18]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/events"
--- @include "includes/held"
--- @include "includes/history"
--- @include "includes/visits"
--- @include "includes/placement"

if isStale(notAfter) then return {'stale'} end
local v = redis.call('HMGET', visitKey, 'globalVisitId', 'startedAt', 'endedAt', 'idleSince')
local browser = nullable(startFor)
local start = not v[2]
if start and not browser then return {'not-live', 0} end
if v[3] then return {'not-live', 0} end
if not start and v[4] and tonumber(now) - tonumber(v[4]) >= tonumber(visitIdleMs) then
  endLiveVisit({seq = seqKey, log = logKey, visit = visitKey, live = liveKey, idle = idleKey,
    visitPages = visitPagesKey, openLive = openLiveKey, ended = endedKey}, endEventId, visitId, now, true)
  return {'not-live', 1}
end
if not start then browser = v[1] end
local old = redis.call('HMGET', pageKey, 'visitId', 'closedAt', 'connectedAt', 'activeAt', 'nodeId', 'bootId', 'locale')
-- The same page id claimed for another visit is refused.
local opened = not old[1] or old[1] == visitId

if start then
  local seq = appendEventIncr(seqKey, logKey, startEventId, 'visit.started', now, {'visitId', visitId})
  -- 'ss': where its events start in the log (erasure reads the log from there).
  redis.call('HSET', visitKey, 'globalVisitId', browser, 'startedAt', now, 'ss', seq)
  redis.call('ZADD', visitsByBrowserKey, 0, browserVisitMember(browser, now, visitId))
  redis.call('ZADD', liveKey, now, visitId)
end
local entered = opened and ((not old[1]) or (old[2] and true))
if opened then
  if entered then
    appendEventIncr(seqKey, logKey, pageEventId, 'page.entered', now, {'visitId', visitId, 'pageId', pageId})
  end
  local connectedAt = old[3]
  if entered then connectedAt = now end
  local activeAt = old[4]
  if not old[1] or visible == '1' then activeAt = now end
  local holder, boot = nullable(nodeId), nullable(bootId)
  if not (holder and boot) then holder, boot = nil, nil end
  local pageLocale = nullable(locale)
  local h = {'visitId', visitId, 'url', url, 'title', title, 'visible', visible, 'focused', focused,
    'connectedAt', connectedAt, 'activeAt', activeAt, 'path', path}
  addField(h, 'locale', pageLocale)
  addField(h, 'nodeId', holder)
  addField(h, 'bootId', boot)
  if not old[1] then addField(h, 'enteredAt', now) end
  redis.call('HSET', pageKey, unpack(h))
  local gone = {}
  if old[2] then gone[#gone + 1] = 'closedAt' end
  if old[7] and not pageLocale then gone[#gone + 1] = 'locale' end
  if old[5] and not holder then
    gone[#gone + 1] = 'nodeId'
    gone[#gone + 1] = 'bootId'
  end
  if #gone > 0 then redis.call('HDEL', pageKey, unpack(gone)) end
  if not old[1] then redis.call('ZADD', pagesByVisitKey, 0, visitPageMember(visitId, now, pageId)) end
  if old[2] then redis.call('ZREM', closedKey, pageId) end
  redis.call('HSET', visitPagesKey, pageId, visible .. ' ' .. focused .. ' ' .. activeAt .. ' ' .. connectedAt)
  redis.call('SADD', openKey, pageId)
  redis.call('SADD', openLiveKey, pageId)
  if v[4] then
    redis.call('HDEL', visitKey, 'idleSince')
    redis.call('ZREM', idleKey, visitId)
  end
  -- A page that was open keeps its entry while the same boot holds it; closing it took the entry out.
  local sameHolder = not old[2] and old[5] == holder and old[6] == boot
  if old[5] and not old[2] and not sameHolder then redis.call('ZREM', heldKey, heldMember(old[5], old[6], pageId)) end
  if holder and not sameHolder then redis.call('ZADD', heldKey, 0, heldMember(holder, boot, pageId)) end
end
local optedOut = 0
if redis.call('HGET', optOutKey, browser) == '1' then optedOut = 1 end
-- A visit started here has no attempt yet.
local attempt, moved = nil, false
if not start then attempt, moved = placeVisitAttempt(attemptIndexKey, visitPagesKey, attemptKeyPrefix, visitId) end
local movedFrom = '-'
if moved then movedFrom = (moved == '' and '' or '=' .. moved) end
local openedReply = 0
if entered then openedReply = 2 elseif opened then openedReply = 1 end
return {'entered', browser, start and 1 or 0, openedReply, optedOut, movedFrom, attempt or {}}
