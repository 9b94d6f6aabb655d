--[[
  changeIdentity: changes a live visit's identity (records visit.identified with the identity after the
  change, or visit.signed_out). A sign-in replaces the identity; user info merges its traits into it,
  keeping userId and verified (a visit without one gets one with no userId, not verified); a sign-out
  removes it, and changes and records nothing when there is none.

  The identity hash keeps each trait as 't:<name>' -> '<JSON name>:<JSON value>' (made by the store),
  so that the event's JSON is joined here without encoding anything in Lua.

  KEYS[1] seqKey         the newest event's seq (string)
  KEYS[2] logKey         the event log (stream)
  KEYS[3] visitKey       the visit (hash)
  KEYS[4] identityKey    the visit's identity (hash)

  ARGV[1] notAfter       the caller's deadline on the Redis clock (ms; '0': none)
  ARGV[2] eventId        the id of the event
  ARGV[3] visitId        the visit
  ARGV[4] pageId         the page it came from (nullable)
  ARGV[5] kind           'sign-in', 'user-info' or 'sign-out'
  ARGV[6] userId         sign-in: the JSON text of the userId; else ''
  ARGV[7] verified       sign-in: '1' or '0'; else ''
  ARGV[8] now            ms
  ARGV[9] count          how many traits follow
  ARGV[10 .. 9 + 2 * count]  each trait: its field ('t:<name>'), then '<JSON name>:<JSON value>'

  Returns {'ok', identity fields (HGETALL; empty: none)} or {'ok-unchanged'} (a sign-out without an
  identity), {'no-visit'}, or {'stale'}.
]]
local seqKey = KEYS[1]
local logKey = KEYS[2]
local visitKey = KEYS[3]
local identityKey = KEYS[4]

local notAfter = ARGV[1]
local eventId = ARGV[2]
local visitId = ARGV[3]
local pageId = ARGV[4]
local kind = ARGV[5]
local userId = ARGV[6]
local verified = ARGV[7]
local now = ARGV[8]
local count = ARGV[9]

--- @include "includes/clock"
--- @include "includes/values"
--- @include "includes/events"

if isStale(notAfter) then return {'stale'} end
local visit = redis.call('HMGET', visitKey, 'startedAt', 'endedAt')
if not visit[1] or visit[2] then return {'no-visit'} end
local fields = {'visitId', visitId}
addField(fields, 'pageId', nullable(pageId))
if kind == 'sign-out' then
  if redis.call('EXISTS', identityKey) == 0 then return {'ok-unchanged'} end
  appendEvent(seqKey, logKey, eventId, 'visit.signed_out', now, fields)
  redis.call('DEL', identityKey)
  return {'ok', {}}
end

-- The identity after the change, as the hash will hold it.
local traits = {}
local order = {}
local userJson, isVerified = userId, verified
if kind == 'user-info' then
  local current = redis.call('HGETALL', identityKey)
  userJson, isVerified = nil, '0'
  for i = 1, #current, 2 do
    local field, value = current[i], current[i + 1]
    if field == 'userId' then userJson = value
    elseif field == 'verified' then isVerified = value
    elseif string.sub(field, 1, 2) == 't:' then
      traits[field] = value
      order[#order + 1] = field
    end
  end
end
for i = 1, tonumber(count) do
  local field, value = ARGV[8 + 2 * i], ARGV[9 + 2 * i]
  if not traits[field] then order[#order + 1] = field end
  traits[field] = value
end
local members = {}
for _, field in ipairs(order) do members[#members + 1] = traits[field] end
fields[#fields + 1] = 'data'
fields[#fields + 1] = '{"userId":' .. (userJson or 'null') .. ',"verified":' .. (isVerified == '1' and 'true' or 'false')
  .. ',"traits":{' .. table.concat(members, ',') .. '}}'
appendEvent(seqKey, logKey, eventId, 'visit.identified', now, fields)

redis.call('DEL', identityKey)
local h = {'verified', isVerified, 'at', now}
addField(h, 'userId', userJson)
for _, field in ipairs(order) do
  h[#h + 1] = field
  h[#h + 1] = traits[field]
end
redis.call('HSET', identityKey, unpack(h))
return {'ok', redis.call('HGETALL', identityKey)}
