--[[
  Channels and pacing (src/core/pacing.ts: decideChannel, allowanceOf and acceptanceRateOf there,
  mirrored here to the digit; the same counts as src/store/sqlite/channels.ts). One hash,
  'channels:load', holds what the store counts of every channel, one field per kind and channel,
  '<kind>:<channel>' (absent: 0, or no report):
    ip  attempts in progress (pending or delivered) that count on the channel
    fs  free slots of its last capacity report          ra  when the store received that report (ms)
    as  invitations accepted with it since that report
    ow  the outcomes of its latest answered invitations, oldest first: '1' accepted with it, '0' not
    oa  how many '1' ow holds
  An attempt keeps the paced channels it counts on as 'pc' in its hash (lex texts, in the order
  offered), so that settling it takes it off exactly those, whatever the settings have become since.

  A channel's pacing, as the caller passes it (askedChannels): a table of
    mode         'off', 'fixed' or 'progressive'
    hoursOpen    whether its business hours are open now (the caller reads the hours)
    maxOnScreen  fixed mode's limit (nil: none set, taken as 0)
    share, initialRate, minRate, staleSeconds   proactiveShare, initialAcceptanceRate,
                 minAcceptanceRate, capacityStaleSeconds
]]
--- @include "includes/lex"
--- @include "includes/attempts"

-- The kinds of field read for a decision, in the order of a load below.
local LOAD_KINDS = {'ip', 'fs', 'ra', 'as', 'ow', 'oa'}

-- acceptanceRateOf: accepted / answered once minAnswered are answered, the initial rate before.
local function acceptanceRateOf(p, answered, accepted, minAnswered)
  if answered < minAnswered then return p.initialRate end
  return accepted / answered
end

-- allowanceOf: how many may be in progress at once, floor(free x share / max(rate, minRate)).
local function allowanceOf(p, freeSlotsLeft, rate)
  return math.floor(freeSlotsLeft * p.share / math.max(rate, p.minRate))
end

-- decideChannel on a load {inProgress, freeSlots (nil: no report), reportedAt, acceptedSinceReport,
-- answered, accepted} at now (ms, the caller's time): the reason it is closed (nil: open), and its
-- allowance (nil: unlimited). The reasons in the order an operator fixes them: hours, a missing
-- report, the agents, the pacing.
local function decideChannel(p, load, now, minAnswered)
  if not p.hoursOpen then
    if p.mode == 'off' then return 'outside-hours', nil end
    return 'outside-hours', 0
  end
  if p.mode == 'off' then return nil, nil end
  if p.mode == 'fixed' then
    local allowance = p.maxOnScreen or 0
    if load.inProgress >= allowance then return 'pacing', allowance end
    return nil, allowance
  end
  if not load.freeSlots or not load.reportedAt or now - load.reportedAt > p.staleSeconds * 1000 then
    return 'capacity-unknown', 0
  end
  local freeSlotsLeft = math.max(0, load.freeSlots - load.acceptedSinceReport)
  if freeSlotsLeft == 0 then return 'no-free-agents', 0 end
  local rate = acceptanceRateOf(p, load.answered, load.accepted, minAnswered)
  local allowance = allowanceOf(p, freeSlotsLeft, rate)
  if load.inProgress >= allowance then return 'pacing', allowance end
  return nil, allowance
end

-- The channels an engage asks for, count of them from args[from] on, 9 values each: the channel, its
-- JSON text, then its pacing (mode '' for a channel that is not paced: pacing is nil) as above.
local function askedChannels(args, from, count)
  local asked = {}
  for i = 0, count - 1 do
    local a = from + 9 * i
    local c = {channel = args[a], json = args[a + 1]}
    if args[a + 2] ~= '' then
      c.pacing = {mode = args[a + 2], hoursOpen = args[a + 3] == '1', maxOnScreen = tonumber(args[a + 4]),
        share = tonumber(args[a + 5]), initialRate = tonumber(args[a + 6]), minRate = tonumber(args[a + 7]),
        staleSeconds = tonumber(args[a + 8])}
    end
    asked[#asked + 1] = c
  end
  return asked
end

-- The loads of channels (names), read with one HMGET, as decideChannel takes them.
local function readLoads(loadKey, channels)
  if #channels == 0 then return {} end
  local fields = {}
  for _, channel in ipairs(channels) do
    for _, kind in ipairs(LOAD_KINDS) do fields[#fields + 1] = kind .. ':' .. channel end
  end
  local values = redis.call('HMGET', loadKey, unpack(fields))
  local loads = {}
  for i = 1, #channels do
    local base = (i - 1) * #LOAD_KINDS
    local function count(k) return tonumber(values[base + k] or '0') end
    local function given(k) return values[base + k] and tonumber(values[base + k]) or nil end
    loads[i] = {inProgress = count(1), freeSlots = given(2), reportedAt = given(3), acceptedSinceReport = count(4),
      answered = #(values[base + 5] or ''), accepted = count(6)}
  end
  return loads
end

-- The decision for each asked channel that is paced, on the counts as they are now: the reason it is
-- closed, by its position in asked (absent: open, or not paced).
local function decideAsked(loadKey, asked, now, minAnswered)
  local paced, at = {}, {}
  for i, c in ipairs(asked) do
    if c.pacing then
      paced[#paced + 1] = c.channel
      at[#paced] = i
    end
  end
  local reasons = {}
  for j, load in ipairs(readLoads(loadKey, paced)) do
    reasons[at[j]] = decideChannel(asked[at[j]].pacing, load, now, minAnswered)
  end
  return reasons
end

-- A new attempt counts as in progress on these paced channels (names) until it settles; returns what
-- its hash keeps as 'pc' (nil: none).
local function countOn(loadKey, channels)
  if #channels == 0 then return nil end
  local counted = ''
  for _, channel in ipairs(channels) do
    redis.call('HINCRBY', loadKey, 'ip:' .. channel, 1)
    counted = counted .. lexPrefix(channel)
  end
  return counted
end

-- One more answered invitation of the channel: the latest window outcomes are kept.
local function addOutcome(loadKey, channel, accepted, window)
  local f = redis.call('HMGET', loadKey, 'ow:' .. channel, 'oa:' .. channel)
  local outcomes = (f[1] or '') .. (accepted and '1' or '0')
  local ones = tonumber(f[2] or '0') + (accepted and 1 or 0)
  if #outcomes > window then
    local _, gone = string.gsub(string.sub(outcomes, 1, #outcomes - window), '1', '')
    ones = ones - gone
    outcomes = string.sub(outcomes, #outcomes - window + 1)
  end
  redis.call('HSET', loadKey, 'ow:' .. channel, outcomes, 'oa:' .. channel, ones)
end

-- After an attempt entered 'to': settled (applyTransition's answer: counted, its 'pc'; shown, whether
-- it was ever delivered; channel, the one it was accepted with). Leaving progress takes it off each
-- channel it counts on; an accept with one of them takes a slot of that channel's report; an answer
-- to an invitation shown is one outcome on each, 1 where it was accepted with that channel.
local function settleChannels(loadKey, settled, to, window)
  if not settled.counted or isActive(to) then return end
  local answered = settled.shown and (to == 'accepted' or to == 'declined' or to == 'timed_out')
  for _, channel in ipairs(lexTexts(settled.counted)) do
    redis.call('HINCRBY', loadKey, 'ip:' .. channel, -1)
    local acceptedHere = to == 'accepted' and settled.channel == channel
    if acceptedHere then redis.call('HINCRBY', loadKey, 'as:' .. channel, 1) end
    if answered then addOutcome(loadKey, channel, acceptedHere, window) end
  end
end
