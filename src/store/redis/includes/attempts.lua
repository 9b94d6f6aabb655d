--[[
  Attempts: which states are in progress, and the index of settled ones.
]]

local function isActive(state)
  return state == 'pending' or state == 'delivered'
end

-- The settled index (the retention of attempts): an attempt enters it, scored by its settle time,
-- when it reaches a terminal state, and leaves it if it were ever in progress again.
local function indexSettled(settledKey, id, to, at)
  if isActive(to) then
    redis.call('ZREM', settledKey, id)
  else
    redis.call('ZADD', settledKey, at, id)
  end
end
