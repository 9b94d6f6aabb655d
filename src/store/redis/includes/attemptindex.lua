--[[
  The index of attempts (attempts:ix, a lex zset, score 0): four families of members, each behind a tag of
  its own so that their lex ranges never overlap (ATTEMPT_INDEX_TAG in keys.ts spells the same):
    a:<am>  attempts in progress by visit   'a:<visit prefix><createdAt, 15 digits>:<seq, 20 digits>:<id>'
    b:<gm>  attempts in progress by browser 'b:<browser prefix><seq, 20 digits>:<id>'
    c:...   every attempt by creation       'c:<createdAt, 15 digits>:<id>'
    h:<hm>  every attempt by browser, then visit (includes/history.lua, browserAttemptMember)
  One key, so that an engage writes its four members with one ZADD and a settle removes its two in
  progress with one ZREM. An attempt's hash keeps 'am', 'gm' and 'hm' without the tag, as hashes
  written before the families shared one key hold them.
]]

local ACTIVE_TAG = 'a:'
local ACTIVE_BY_BROWSER_TAG = 'b:'
local CREATED_TAG = 'c:'
local HISTORY_TAG = 'h:'

local function createdMember(createdAt, id)
  return CREATED_TAG .. string.format('%015d:', tonumber(createdAt)) .. id
end
