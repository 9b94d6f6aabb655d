--[[
  updatePage: changes what is known of an open page (URL, title, visibility, focus, locale); a page that
  becomes visible and focused is active now. Records no event.

  KEYS[1]  pageKey        the page (hash)
  KEYS[2]  visitPagesKey  its visit's open pages (hash)

  ARGV[1]  notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2]  pageId         the page
  ARGV[3]  visitId        its visit (the caller's look-up, checked here)
  ARGV[4]  url            nullable: unchanged
  ARGV[5]  title          nullable: unchanged
  ARGV[6]  visible        '1' or '0' (nullable: unchanged)
  ARGV[7]  focused        '1' or '0' (nullable: unchanged)
  ARGV[8]  locale         nullable: unchanged
  ARGV[9]  now            ms
  ARGV[10] path           the new URL's path as reports count it (nullable: with url only)

  Returns {'ok', 1}, {'ok', 0} when the page is closed, unknown or of another visit, or {'stale'}.
]]
local pageKey = KEYS[1]
local visitPagesKey = KEYS[2]

local notAfter = ARGV[1]
local pageId = ARGV[2]
local visitId = ARGV[3]
local url = ARGV[4]
local title = ARGV[5]
local visible = ARGV[6]
local focused = ARGV[7]
local locale = ARGV[8]
local now = ARGV[9]
local path = ARGV[10]

--- @include "includes/clock"
--- @include "includes/values"

if isStale(notAfter) then return {'stale'} end
local p = redis.call('HMGET', pageKey, 'visitId', 'closedAt', 'visible', 'focused', 'activeAt', 'connectedAt')
if not p[1] or p[1] ~= visitId or p[2] then return {'ok', 0} end
local isVisible = nullable(visible) or p[3]
local isFocused = nullable(focused) or p[4]
local activeAt = p[5]
if isVisible == '1' and isFocused == '1' then activeAt = now end
local h = {'visible', isVisible, 'focused', isFocused, 'activeAt', activeAt}
addField(h, 'url', nullable(url))
addField(h, 'path', nullable(path))
addField(h, 'title', nullable(title))
addField(h, 'locale', nullable(locale))
redis.call('HSET', pageKey, unpack(h))
redis.call('HSET', visitPagesKey, pageId, isVisible .. ' ' .. isFocused .. ' ' .. activeAt .. ' ' .. p[6])
return {'ok', 1}
