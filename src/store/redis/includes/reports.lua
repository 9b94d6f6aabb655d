--[[
  The report counters (src/core/reports.ts; the same rules as src/store/sqlite/reports.ts): one hash per
  UTC hour, expiring on its own at the hour's end plus the report retention. An attempt shown keeps
  'rd' (when it was first shown, ms) and 'rp' (the path of that page) in its hash: what the time to
  answer and the accepted count per path need. They stay once it settles (a few bytes until retention
  deletes the attempt), since taking them out would cost every settle a command.

  Three counters are folded into others that are counted with them anyway, one command fewer each
  (reports.ts adds them back, so that every reader gets the same numbers): 'delivered' is the sum of
  'ps:' (every first show counts one path), 'accepted' the sum of 'ch:' (every accept counts one
  channel), 'cancelled' the sum of 're:' (every cancel counts one reason), and a decline after a show
  counts 'td:<bucket>' alone, which is both one 'declined' and one 'tta:<bucket>'; a decline never
  shown counts 'declined'. Hours written before the fold hold 'delivered', 'accepted' and
  'cancelled' beside the same sums, and 'declined' and 'tta:' without 'td:'.

  report: what the caller passes for the counters, as a table:
    hourKey       the hash of the UTC hour of the change
    expireAt      when that hour's hash expires (unix seconds)
    answerBounds  the histogram's bucket bounds (ANSWER_BOUNDS), each padded to one width and joined
                  with ',' ('' when the change cannot count an answer)
    namesCap      the most names each open-ended counter keeps per hour: {ch =, re =, ps =, pa =}
    other         the name counted once an hour holds namesCap names of a kind
    none          the name counted for an accept without a channel or a cancel without a reason
]]
--- @include "includes/values"

-- Counts one more of a counter. The hour's hash gets its expiry from the count that creates it (the
-- only writes to it are counts, and the one that creates it answers 1), so later counts set nothing.
local function reportCount(hourKey, expireAt, field)
  if redis.call('HINCRBY', hourKey, field, 1) == 1 then redis.call('EXPIREAT', hourKey, expireAt) end
end

-- An open-ended counter: a new name only while the hour holds fewer than the cap, else report.other.
-- Counted first (one call for a name already kept, the usual case), taken back if it was one too many.
-- A count that creates the hour's hash is the first name of its kind (n:<kind> answers 1): the expiry
-- is set then.
local function reportNamed(report, kind, name)
  local key = report.hourKey
  local field = kind .. ':' .. name
  if redis.call('HINCRBY', key, field, 1) > 1 then return end
  local names = redis.call('HINCRBY', key, 'n:' .. kind, 1)
  if names == 1 then redis.call('EXPIREAT', key, report.expireAt) end
  if names <= report.namesCap[kind] then return end
  redis.call('HDEL', key, field)
  redis.call('HINCRBY', key, 'n:' .. kind, -1)
  redis.call('HINCRBY', key, kind .. ':' .. report.other, 1)
end

-- The histogram bucket of a time to answer (ms): the last bound at or below it (0-based, as
-- answerBucket in src/core/reports.ts). The bounds come as one text of fixed-width numbers, so that
-- the binary search reads the few it needs without building a table of all of them.
local function answerBucket(report, ms)
  local bounds = report.answerBounds
  local width = string.find(bounds, ',', 1, true) or (#bounds + 1)
  local function bound(i) return tonumber(string.sub(bounds, (i - 1) * width + 1, i * width - 1)) end
  local lo, hi = 1, (#bounds + 1) / width
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if bound(mid) <= ms then lo = mid else hi = mid - 1 end
  end
  return lo - 1
end

-- Counts a time to answer (ms) in its histogram bucket.
local function reportAnswer(report, ms)
  redis.call('HINCRBY', report.hourKey, string.format('tta:%d', answerBucket(report, ms)), 1)
end

-- An attempt was created; narrowed: with fewer channels than asked (pacing closed the others).
local function reportCreated(hourKey, expireAt, narrowed)
  reportCount(hourKey, expireAt, 'created')
  if narrowed then redis.call('HINCRBY', hourKey, 'narrowed', 1) end
end

-- An engage was refused with the FAULT code (REFUSAL_CODES in src/core/reports.ts): 'rf:<code>'.
local function reportRefused(hourKey, expireAt, code)
  reportCount(hourKey, expireAt, 'rf:' .. code)
end

-- After the change t (applyTransition in includes/transition.lua) of an attempt entering 'to' at 'at'
-- (ms); path: the path of the page it is shown on, counted at its first show. What the attempt keeps
-- for the counters ('rd', 'rp') joins t's write of its hash.
local function reportTransition(report, t, to, at, path)
  local key = report.hourKey
  local rd, rp = t.cur.rd, t.cur.rp
  if to == 'delivered' then
    if rd then return end
    path = path or '(unknown)'
    reportNamed(report, 'ps', path)
    addField(t.set, 'rd', at)
    addField(t.set, 'rp', path)
    return
  elseif to == 'accepted' then
    reportNamed(report, 'ch', t.channel or report.none)
    if rd then
      reportAnswer(report, tonumber(at) - tonumber(rd))
      reportNamed(report, 'pa', rp or '(unknown)')
    end
  elseif to == 'declined' then
    if rd then
      reportCount(key, report.expireAt, string.format('td:%d', answerBucket(report, tonumber(at) - tonumber(rd))))
    else
      reportCount(key, report.expireAt, 'declined')
    end
  elseif to == 'cancelled' then
    reportNamed(report, 're', t.reason or report.none)
  elseif to == 'timed_out' or to == 'expired' then
    reportCount(key, report.expireAt, to)
  end
end
