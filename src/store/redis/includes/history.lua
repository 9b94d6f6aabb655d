--[[
  The indexes of a visit's history and of a browser's visits (lex zsets, score 0), so that a visit's
  pages and attempts, and a browser's visits, are read in order and erased together:
    visits:g    '<browser prefix><startedAt, 15 digits>:<visitId>'
    pages:v     '<visit prefix><enteredAt, 15 digits>:<pageId>'
    attempts by browser and visit (in attempts:ix behind the tag 'h:', includes/attemptindex.lua)
                '<browser prefix><visit prefix><createdAt, 15 digits>:<seq, 20 digits>:<interactionId>'
                (the attempt's 'hm'); by browser first, so that an erasure finds the attempts of visits
                that retention already pruned (an attempt outlives its visit)
]]
--- @include "includes/lex"

local function browserVisitMember(globalVisitId, startedAt, visitId)
  return lexPrefix(globalVisitId) .. string.format('%015d:', tonumber(startedAt)) .. visitId
end

local function visitPageMember(visitId, enteredAt, pageId)
  return lexPrefix(visitId) .. string.format('%015d:', tonumber(enteredAt)) .. pageId
end

local function browserAttemptMember(globalVisitId, visitId, createdAt, seq, interactionId)
  return lexPrefix(globalVisitId) .. lexPrefix(visitId)
    .. string.format('%015d:%020d:', tonumber(createdAt), tonumber(seq)) .. interactionId
end
