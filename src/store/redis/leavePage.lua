--[[
  leavePage: a page view's exit in one step. Closes an open page of the visit as closePage does (records
  page.left, takes it out of its node's held pages; a visit left with no open page becomes idle; with
  heldBy, only while that boot still holds the page; a page that closes after its visit ended moves the
  visit's retention time to now), then, while other pages of the visit are open, places the visit's
  invitation (placeVisitAttempt in includes/placement.lua): with none open it stays where it is.

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
  KEYS[12] attemptIndexKey the index of attempts (lex zset; a visit's in progress)

  ARGV[1]  notAfter          the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  eventId           the id of the page.left event
  ARGV[3]  pageId            the page
  ARGV[4]  visitId           its visit (the caller's, checked here)
  ARGV[5]  now               ms
  ARGV[6]  heldByNodeId      close only while this node holds it (nullable: whoever holds it)
  ARGV[7]  heldByBootId      and this boot of it (nullable)
  ARGV[8]  attemptKeyPrefix  an attempt's key less its id (keys.ts)

  Returns {'closed', moved, attempt}: moved '-' when the invitation did not move (attempt then empty), ''
  when it moved from no page, '=' .. pageId from that page, with the attempt (flat hash) after the move;
  {'none'} when the page was not open (or not held by heldBy), or {'stale'}.
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
local attemptIndexKey = KEYS[12]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local pageId = ARGV[3]
local visitId = ARGV[4]
local now = ARGV[5]
local heldByNodeId = ARGV[6]
local heldByBootId = ARGV[7]
local attemptKeyPrefix = ARGV[8]

--- @include "includes/clock"
--- @include "includes/pages"
--- @include "includes/placement"

local pageKeys = {
  seq = seqKey, log = logKey, page = pageKey, visit = visitKey, visitPages = visitPagesKey, open = openKey,
  openLive = openLiveKey, idle = idleKey, held = heldKey, closed = closedKey, ended = endedKey,
}

if isStale(notAfter) then return {'stale'} end
local closed, othersOpen = closeOpenPage(pageKeys, eventId, pageId, visitId, now, heldByNodeId, heldByBootId)
if not closed then return {'none'} end
if not othersOpen then return {'closed', '-', {}} end
local attempt, moved = placeVisitAttempt(attemptIndexKey, visitPagesKey, attemptKeyPrefix, visitId)
if not moved then return {'closed', '-', {}} end
return {'closed', (moved == '' and '' or '=' .. moved), attempt}
