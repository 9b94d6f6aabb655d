--[[
  closePage: closes an open page (records page.left) and takes it out of its node's held pages; a visit
  left with no open page becomes idle. With heldBy, only while that boot still holds the page. A page
  that closes after its visit ended moves the visit's retention time to now (ZADD GT), so that a visit
  is never pruned before one of its pages.

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
  KEYS[11] endedKey       ended visits by retention time (zset)

  ARGV[1]  notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  eventId        the id of the page.left event
  ARGV[3]  pageId         the page
  ARGV[4]  visitId        its visit (the caller's look-up, checked here)
  ARGV[5]  now            ms
  ARGV[6]  heldByNodeId   close only while this node holds it (nullable: whoever holds it)
  ARGV[7]  heldByBootId   and this boot of it (nullable)

  Returns {'ok', 1} when it closed the page, {'ok', 0} when it was not open (or not held by heldBy), or {'stale'}.
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
local endedKey = KEYS[11]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local pageId = ARGV[3]
local visitId = ARGV[4]
local now = ARGV[5]
local heldByNodeId = ARGV[6]
local heldByBootId = ARGV[7]

--- @include "includes/clock"
--- @include "includes/pages"

local pageKeys = {
  seq = seqKey, log = logKey, page = pageKey, visit = visitKey, visitPages = visitPagesKey, open = openKey,
  openLive = openLiveKey, idle = idleKey, held = heldKey, closed = closedKey, ended = endedKey,
}

if isStale(notAfter) then return {'stale'} end
local closed = closeOpenPage(pageKeys, eventId, pageId, visitId, now, heldByNodeId, heldByBootId)
return {'ok', closed and 1 or 0}
