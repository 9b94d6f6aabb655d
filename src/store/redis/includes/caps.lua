--[[
  Frequency caps (src/core/caps.ts; the same rule as capState there, which the contract suite holds
  both stores to). A browser's budget is the lex zset 'caps:budget' of
  '<browser prefix><at, 15 digits>:<r|s>:<interactionId>' (r: reserved at its creation, s: shown,
  at its first show), with the same members in 'caps:budget:t' scored by at, so that old ones are
  pruned without knowing their browser; 'caps:declined' scores each browser by its last decline.
  An attempt's hash keeps its member as 'cm'. Only attempts created while a cap is configured enter
  a budget, so with caps off nothing here writes.
]]
--- @include "includes/values"
--- @include "includes/lex"

local function capMember(browser, at, flag, id)
  return lexPrefix(browser) .. string.format('%015d:', at) .. flag .. ':' .. id
end

-- The browser (globalVisitId) of an attempt, from its member in progress by browser ('gm', as the hash keeps it: without the tag).
local function browserOf(gm)
  local len = string.match(gm, '^(%d+):')
  return string.sub(gm, #len + 2, #len + 1 + tonumber(len))
end

-- Drops up to 100 budget entries counted before 'before' (ms).
local function capPrune(budgetKey, budgetByAgeKey, before)
  local old = redis.call('ZRANGEBYSCORE', budgetByAgeKey, '-inf', '(' .. string.format('%d', before), 'LIMIT', 0, 100)
  if #old > 0 then
    redis.call('ZREM', budgetKey, unpack(old))
    redis.call('ZREM', budgetByAgeKey, unpack(old))
  end
end

-- {'capped', cap, retryAfter} when a cap refuses a new attempt of this browser at now, else nil.
-- perDay, quietMs: the caps (nil: off); windowMs: the window perDay counts in.
local function capRefusal(budgetKey, declinedKey, browser, now, perDay, quietMs, windowMs)
  local perDayUntil, quietUntil
  if perDay then
    local prefix = lexPrefix(browser)
    -- The newest perDay entries in the window: capped when there are that many; it lifts when the oldest of them leaves.
    local newest = redis.call('ZREVRANGEBYLEX', budgetKey, '(' .. prefix .. ';',
      '[' .. prefix .. string.format('%015d', now - windowMs + 1), 'LIMIT', 0, perDay)
    if #newest >= perDay then
      perDayUntil = tonumber(string.sub(newest[perDay], #prefix + 1, #prefix + 15)) + windowMs
    end
  end
  if quietMs then
    local last = redis.call('ZSCORE', declinedKey, browser)
    if last and tonumber(last) + quietMs > now then quietUntil = tonumber(last) + quietMs end
  end
  if perDayUntil and (not quietUntil or perDayUntil >= quietUntil) then
    return {'capped', 'per-day', string.format('%d', perDayUntil)}
  elseif quietUntil then
    return {'capped', 'after-decline', string.format('%d', quietUntil)}
  end
  return nil
end

-- A new attempt enters its browser's budget, reserved; returns its member (kept as 'cm'). Entries
-- older than keepMs are pruned first.
local function capReserve(budgetKey, budgetByAgeKey, browser, id, now, keepMs)
  capPrune(budgetKey, budgetByAgeKey, now - keepMs)
  local member = capMember(browser, now, 'r', id)
  redis.call('ZADD', budgetKey, 0, member)
  redis.call('ZADD', budgetByAgeKey, now, member)
  return member
end

-- After the change t (applyTransition in includes/transition.lua) of an attempt created under caps (it
-- has 'cm'; any other changes nothing): a first show moves its entry to the show time; cancelled or
-- expired before any show leaves the budget; a decline or close (not an opt-out) starts the quiet time.
-- Declines older than maxQuietMs (the longest quiet time) are dropped. Its 'cm' joins t's write.
local function capAfterTransition(t, budgetKey, budgetByAgeKey, declinedKey, id, to, at, reason, maxQuietMs)
  local member, gm = t.cur.cm, t.cur.gm
  if not member or not gm then return end
  local browser = browserOf(gm)
  local reserved = string.sub(member, #lexPrefix(browser) + 17, #lexPrefix(browser) + 17) == 'r'
  if to == 'delivered' and reserved then
    redis.call('ZREM', budgetKey, member)
    redis.call('ZREM', budgetByAgeKey, member)
    local shown = capMember(browser, at, 's', id)
    redis.call('ZADD', budgetKey, 0, shown)
    redis.call('ZADD', budgetByAgeKey, at, shown)
    addField(t.set, 'cm', shown)
  elseif (to == 'cancelled' or to == 'expired') and reserved then
    redis.call('ZREM', budgetKey, member)
    redis.call('ZREM', budgetByAgeKey, member)
    t.drop[#t.drop + 1] = 'cm'
  elseif to == 'declined' and reason ~= 'opted-out' then
    local last = redis.call('ZSCORE', declinedKey, browser)
    if not last or tonumber(last) < at then redis.call('ZADD', declinedKey, at, browser) end
    redis.call('ZREMRANGEBYSCORE', declinedKey, '-inf', '(' .. string.format('%d', at - maxQuietMs))
  end
end
