--[[
  The Redis clock, and the check that a write did not arrive too late.
]]

-- The Redis clock in ms.
local function redisMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- True when the script runs after notAfter (the caller's deadline on the Redis clock, in ms; '0': no
-- deadline): the caller has given up on the call by then, so the script must change nothing.
local function isStale(notAfter)
  return notAfter ~= '0' and redisMs() > tonumber(notAfter)
end
