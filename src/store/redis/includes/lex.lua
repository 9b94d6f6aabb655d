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

-- The texts of a run of lexPrefix texts ('<byte length>:<text>:' each), in order.
local function lexTexts(run)
  local texts, at = {}, 1
  for _ = 1, #run do
    if at > #run then break end
    local colon = string.find(run, ':', at, true)
    local length = tonumber(string.sub(run, at, colon - 1))
    texts[#texts + 1] = string.sub(run, colon + 1, colon + length)
    at = colon + length + 2
  end
  return texts
end
