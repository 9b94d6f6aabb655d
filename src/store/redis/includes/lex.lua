--[[
  Members of the lex-ordered indexes (score 0, ordered by their bytes): a text is written as
  '<byte length>:<text>:', so that no text's prefix can be taken for another text.
]]

local function lexPrefix(text)
  return string.format('%d:', #text) .. text .. ':'
end

-- The first members of a lex index that start with prefix (always followed by digits, so ';' bounds them).
local function lexFirst(key, prefix, count)
  return redis.call('ZRANGEBYLEX', key, '[' .. prefix, '(' .. prefix .. ';', 'LIMIT', 0, count)
end
