--[[
  openPage: opens a page of a live visit, or re-opens it after a reconnect (records page.entered when it
  enters: new, or open again after it closed). The page moves to the node (boot) it (re)connected
  through, or to none.

  KEYS[1]  seqKey         the newest event's seq (string)
  KEYS[2]  logKey         the event log (stream)
  KEYS[3]  pageKey        the page (hash)
  KEYS[4]  visitKey       its visit (hash)
  KEYS[5]  visitPagesKey  the visit's open pages (hash)
  KEYS[6]  openKey        every open page (set)
  KEYS[7]  openLiveKey    open pages of live visits (set)
  KEYS[8]  idleKey        live visits with no open page (zset)
  KEYS[9]  heldKey        open pages by the node holding them (lex zset)
  KEYS[10] closedKey      closed pages by close time (zset)
  KEYS[11] pagesByVisitKey  every page of a visit (lex zset)

  ARGV[1]  notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  eventId        the id of the page.entered event
  ARGV[3]  pageId         the page
  ARGV[4]  visitId        its visit
  ARGV[5]  url            the page's URL
  ARGV[6]  title          the page's title
  ARGV[7]  visible        '1' or '0'
  ARGV[8]  focused        '1' or '0'
  ARGV[9]  locale         nullable
  ARGV[10] now            ms
  ARGV[11] nodeId         the node holding its socket (nullable: none)
  ARGV[12] bootId         that node's boot (nullable: none)
  ARGV[13] path           the URL's path as reports count it (reportPath in src/core/reports.ts: no URL parsing in Lua)

  Returns {'ok', 2} when the page entered, {'ok', 1} for a reconnect, {'ok', 0} when refused (no such
  visit, or the page id belongs to another visit), or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local pageKey = KEYS[3]
local visitKey = KEYS[4]
local visitPagesKey = KEYS[5]
local openKey = KEYS[6]
local openLiveKey = KEYS[7]
local idleKey = KEYS[8]
local heldKey = KEYS[9]
local closedKey = KEYS[10]
local pagesByVisitKey = KEYS[11]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local pageId = ARGV[3]
local visitId = ARGV[4]
local url = ARGV[5]
local title = ARGV[6]
local visible = ARGV[7]
local focused = ARGV[8]
local locale = ARGV[9]
local now = ARGV[10]
local nodeId = ARGV[11]
local bootId = ARGV[12]
local path = ARGV[13]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/events"
--- @include "includes/held"
--- @include "includes/history"

if isStale(notAfter) then return {'stale'} end
local visit = redis.call('HMGET', visitKey, 'startedAt', 'endedAt')
if not visit[1] then return {'ok', 0} end
local old = redis.call('HMGET', pageKey, 'visitId', 'closedAt', 'connectedAt', 'activeAt', 'nodeId', 'bootId')
-- The same page id claimed for another visit is refused.
if old[1] and old[1] ~= visitId then return {'ok', 0} end
local entered = (not old[1]) or (old[2] and true)
if entered then
  appendEventIncr(seqKey, logKey, eventId, 'page.entered', now, {'visitId', visitId, 'pageId', pageId})
end
local connectedAt = old[3]
if entered then connectedAt = now end
local activeAt = old[4]
if not old[1] or visible == '1' then activeAt = now end
redis.call('HSET', pageKey, 'visitId', visitId, 'url', url, 'title', title, 'visible', visible,
  'focused', focused, 'connectedAt', connectedAt, 'activeAt', activeAt, 'path', path)
local pageLocale = nullable(locale)
if pageLocale then redis.call('HSET', pageKey, 'locale', pageLocale) else redis.call('HDEL', pageKey, 'locale') end
redis.call('HDEL', pageKey, 'closedAt')
if not old[1] then
  redis.call('HSET', pageKey, 'enteredAt', now)
  redis.call('ZADD', pagesByVisitKey, 0, visitPageMember(visitId, now, pageId))
end
redis.call('ZREM', closedKey, pageId)
redis.call('HSET', visitPagesKey, pageId, visible .. ' ' .. focused .. ' ' .. activeAt .. ' ' .. connectedAt)
redis.call('SADD', openKey, pageId)
if not visit[2] then redis.call('SADD', openLiveKey, pageId) end
redis.call('HDEL', visitKey, 'idleSince')
redis.call('ZREM', idleKey, visitId)
if old[5] then redis.call('ZREM', heldKey, heldMember(old[5], old[6], pageId)) end
local holder, boot = nullable(nodeId), nullable(bootId)
if holder and boot then
  redis.call('HSET', pageKey, 'nodeId', holder, 'bootId', boot)
  redis.call('ZADD', heldKey, 0, heldMember(holder, boot, pageId))
else
  redis.call('HDEL', pageKey, 'nodeId', 'bootId')
end
if entered then return {'ok', 2} end
return {'ok', 1}
