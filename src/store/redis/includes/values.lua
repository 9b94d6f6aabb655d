--[[
  Values as the scripts receive and pass them on.
]]

-- A nullable string in ARGV: '' for null, '=' .. text otherwise (so that an empty text is not null).
local function nullable(arg)
  if arg == nil or arg == '' then return nil end
  return string.sub(arg, 2)
end

-- A field read with HGET or HMGET (false when absent) as nil when absent.
local function orNil(value)
  if value then return value end
  return nil
end

-- Appends name and value to a flat list (the arguments of HSET, an event's fields), unless value is nil.
local function addField(list, name, value)
  if value then
    list[#list + 1] = name
    list[#list + 1] = value
  end
end
