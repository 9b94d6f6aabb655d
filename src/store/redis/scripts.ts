/**
 * The Redis store's Lua scripts: one per change, each atomic (Redis runs a
 * script alone), registered with node-redis `defineScript` so that EVALSHA
 * is sent and EVAL follows on NOSCRIPT (after a restart or SCRIPT FLUSH).
 *
 * Rules every script keeps:
 * - every key it touches comes in KEYS (the prefix spelled out by the caller);
 * - ARGV[1] is `notAfter` (connection.ts): a script that runs later than that
 *   on the Redis clock returns {'stale'} and changes nothing;
 * - all checks first, then the writes, the event's XADD first among them
 *   (the write that can be refused: an id not above the top);
 * - every loop is bounded;
 * - no date maths, no JSON parsing: times come as ms and ISO strings from
 *   the caller, JSON documents are stored as the text the caller made (Lua's
 *   cjson would round numbers to 14 digits);
 * - a nullable string in ARGV is '' for null and '=' + text otherwise (`opt`).
 *
 * Key layout, data model and the choices behind it: see store.ts.
 */
import { defineScript, type CommandParser } from 'redis';
import { ANSWER_BOUNDS, NONE, OTHER, REPORT_CAPS } from '../../core/reports.js';
import { CAP_KEEP_MS, CAP_WINDOW_MS, MAX_QUIET_MS } from '../../core/caps.js';

/** Helpers shared by all scripts (prepended to each). */
const PRELUDE = String.raw`
local function opt(s)
  if s == nil or s == '' then return nil end
  return string.sub(s, 2)
end
local function nn(v)
  if v then return v end
  return nil
end
local function redis_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function stale(not_after)
  return not_after ~= '0' and redis_ms() > tonumber(not_after)
end
local function add(list, name, value)
  if value then
    list[#list + 1] = name
    list[#list + 1] = value
  end
end
local function is_active(state)
  return state == 'pending' or state == 'delivered'
end
-- The settled index (attempt retention): an attempt enters it, scored by its settle time, when it
-- reaches a terminal state, and leaves it if it were ever in progress again.
local function index_settled(settled_key, id, to, at)
  if is_active(to) then
    redis.call('ZREM', settled_key, id)
  else
    redis.call('ZADD', settled_key, at, id)
  end
end
-- '<byte length>:<text>:' : a prefix no other text's prefix can be confused with.
local function lex_prefix(text)
  return string.format('%d:', #text) .. text .. ':'
end
-- The members of a lex index that start with prefix (always followed by digits, so ';' bounds them).
local function lex_first(key, prefix, count)
  return redis.call('ZRANGEBYLEX', key, '[' .. prefix, '(' .. prefix .. ';', 'LIMIT', 0, count)
end
-- Appends one event to the log (KEYS[1] seq, KEYS[2] log) and returns its seq (a string).
-- A missing seq starts a new epoch at the Redis time in ms x 100, so that positions never
-- repeat after Redis lost its data (a reader holding an old Last-Event-ID resumes before
-- every new event instead of skipping some), as long as fewer than 100 000 events a second
-- were written before; that stays within the 15 digits a Last-Event-ID may have until 2286.
local function append_event(event_id, event_type, at, fields)
  local seq
  local current = redis.call('GET', KEYS[1])
  if current then
    seq = tonumber(current) + 1
  else
    seq = redis_ms() * 100
    local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
    if top then
      local last = tonumber(string.match(top[1], '^(%d+)'))
      if last >= seq then seq = last + 1 end
    end
  end
  local id = string.format('%d', seq)
  local args = {'XADD', KEYS[2], id .. '-0', 'id', event_id, 'type', event_type, 'at', at}
  for i = 1, #fields do args[#args + 1] = fields[i] end
  redis.call(unpack(args))
  redis.call('SET', KEYS[1], id)
  return id
end
`;

/**
 * The compare-and-set of an attempt's state, with its event (attemptEvent in
 * core/events.ts: the page is where it is shown, else the one named), its
 * active-index entries and its deadlines. Shared by transition and setOptOut.
 */
const TRANSITION_FN = String.raw`
local function apply_transition(akey, active_key, active_g_key, deadlines_key, settled_key, event_id, id, from, to, at, at_iso, visit_id, channel, reason, timeout_at, page_id)
  local cur = redis.call('HMGET', akey, 'state', 'visitId', 'pageId', 'shownPageId', 'channel', 'reason', 'timeoutAt', 'userData', 'am', 'gm', 'expiresAt')
  local state = cur[1]
  if not state then return false end
  if not string.find(from, ',' .. state .. ',', 1, true) then return false end
  if visit_id and cur[2] ~= visit_id then return false end
  local shown = page_id or nn(cur[4])
  local new_timeout = nn(cur[7]) or timeout_at
  local f = {}
  add(f, 'interactionId', id)
  add(f, 'visitId', nn(cur[2]))
  add(f, 'pageId', shown or nn(cur[3]))
  add(f, 'channel', channel or nn(cur[5]))
  add(f, 'reason', reason or nn(cur[6]))
  add(f, 'userData', nn(cur[8]) or '{}')
  append_event(event_id, 'engagement.' .. to, at, f)
  local h = {'state', to, 't:' .. to, at_iso}
  add(h, 'channel', channel)
  add(h, 'reason', reason)
  if not cur[7] then add(h, 'timeoutAt', timeout_at) end
  add(h, 'shownPageId', page_id)
  redis.call('HSET', akey, unpack(h))
  if is_active(state) and not is_active(to) then
    if cur[9] then redis.call('ZREM', active_key, cur[9]) end
    if cur[10] then redis.call('ZREM', active_g_key, cur[10]) end
  elseif is_active(to) and not is_active(state) then
    if cur[9] then redis.call('ZADD', active_key, 0, cur[9]) end
    if cur[10] then redis.call('ZADD', active_g_key, 0, cur[10]) end
  end
  redis.call('ZREM', deadlines_key, 'expire:' .. id, 'timeout:' .. id)
  if to == 'pending' then
    redis.call('ZADD', deadlines_key, cur[11], 'expire:' .. id)
  elseif to == 'delivered' and new_timeout then
    redis.call('ZADD', deadlines_key, new_timeout, 'timeout:' .. id)
  end
  index_settled(settled_key, id, to, at)
  return true
end
`;

/** Webhook lanes: the outbox queue is one lex-ordered zset of '<lane prefix><seq, 20 digits>'. */
const OUTBOX_FN = String.raw`
local function lane_member(lane, seq)
  return lex_prefix(lane) .. string.format('%020d', tonumber(seq))
end
-- A waiting delivery: 'nextAt|attempts|lane'.
local function parse_delivery(record)
  local next_at, attempts, lane = string.match(record, '^(%-?%d+)|(%d+)|(.*)$')
  return next_at, attempts, lane
end
-- The oldest waiting delivery of a lane: its member and seq, or nil.
local function lane_head(q_key, lane)
  local prefix = lex_prefix(lane)
  local head = lex_first(q_key, prefix, 1)[1]
  if not head then return nil end
  return head, string.format('%d', tonumber(string.sub(head, #prefix + 1)))
end
-- The delivery 'seq' if it is still its lane's head (member, lane), else nil: only the head is ever
-- settled, so a late or repeated acknowledgement (its lease ran out, another sender took it) changes nothing.
local function head_delivery(q_key, d_key, seq)
  local record = redis.call('HGET', d_key, seq)
  if not record then return nil end
  local _, _, lane = parse_delivery(record)
  local head, head_seq = lane_head(q_key, lane)
  if head_seq ~= seq then return nil end
  return head, lane
end
-- After a lane's head went: the lane is due when its new head is, or leaves 'ready'.
local function ready_next(q_key, ready_key, d_key, lane)
  local _, seq = lane_head(q_key, lane)
  local record = seq and redis.call('HGET', d_key, seq)
  if record then
    local next_at = parse_delivery(record)
    redis.call('ZADD', ready_key, next_at, lane)
  else
    redis.call('ZREM', ready_key, lane)
  end
end
`;

/** The page to show a new attempt on: the named one if open, else the first in attention order. */
const PLACEMENT_FN = String.raw`
local function choose_page(pages_key, named)
  if named and redis.call('HEXISTS', pages_key, named) == 1 then return named end
  local all = redis.call('HGETALL', pages_key)
  local best, best_rank, best_active, best_connected
  for i = 1, math.min(#all, 2000), 2 do
    local page_id = all[i]
    local visible, focused, active_at, connected_at = string.match(all[i + 1], '^(%d) (%d) (%-?%d+) (%-?%d+)$')
    local rank = 0
    if visible == '1' and focused == '1' then rank = 2 elseif visible == '1' then rank = 1 end
    active_at = tonumber(active_at)
    connected_at = tonumber(connected_at)
    if not best or rank > best_rank
      or (rank == best_rank and (active_at > best_active
        or (active_at == best_active and (connected_at > best_connected
          or (connected_at == best_connected and page_id < best))))) then
      best, best_rank, best_active, best_connected = page_id, rank, active_at, connected_at
    end
  end
  return best
end
`;

/** Presence: a boot's member in 'nodes'/'reaped', a page's member in 'held' (lex order: node, boot, page). */
const HELD_FN = String.raw`
local function node_member(node_id, boot_id)
  return lex_prefix(node_id) .. lex_prefix(boot_id)
end
local function held_member(node_id, boot_id, page_id)
  return lex_prefix(node_id) .. lex_prefix(boot_id) .. lex_prefix(page_id)
end
`;

/**
 * Report counters (core/reports.ts; the same rules as sqlite/reports.ts): one
 * hash per UTC hour (its key in KEYS, made by the caller), expiring on its
 * own at the hour's end + BECKON_REPORT_RETENTION_DAYS (ARGV, unix seconds).
 * An attempt shown keeps 'rd' (first shown, ms) and 'rp' (page path) in its
 * hash until it settles: what time to answer and accepted per path need.
 * The histogram bounds are the same integers as ANSWER_BOUNDS in JS.
 * The report's keys and arguments always come last in KEYS and ARGV (read
 * as KEYS[#KEYS], ARGV[#ARGV]), so that other additions to a script's keys
 * go before them without renumbering these.
 */
const REPORT_FN = String.raw`
-- Built only when an answer is counted: a table constructor of 200 numbers on every script would cost each write.
local function report_bounds() return {${ANSWER_BOUNDS.join(',')}} end
local REPORT_CAPS = {ch = ${REPORT_CAPS.ch}, re = ${REPORT_CAPS.re}, ps = ${REPORT_CAPS.ps}, pa = ${REPORT_CAPS.pa}}
-- An open-ended counter: a new name only while the hour holds fewer than the cap, else '(other)'.
-- Counted first (one call for a name already kept, the usual case), taken back if it was one too many.
local function report_named(key, kind, name)
  local field = kind .. ':' .. name
  if redis.call('HINCRBY', key, field, 1) > 1 then return end
  if redis.call('HINCRBY', key, 'n:' .. kind, 1) <= REPORT_CAPS[kind] then return end
  redis.call('HDEL', key, field)
  redis.call('HINCRBY', key, 'n:' .. kind, -1)
  redis.call('HINCRBY', key, kind .. ':${OTHER}', 1)
end
-- The histogram bucket (0-based, as in JS) of a time to answer in ms.
local function report_answer(key, ms)
  local bounds = report_bounds()
  local lo, hi = 1, #bounds
  while lo < hi do
    local mid = math.floor((lo + hi + 1) / 2)
    if bounds[mid] <= ms then lo = mid else hi = mid - 1 end
  end
  redis.call('HINCRBY', key, string.format('tta:%d', lo - 1), 1)
end
local function report_created(key, expire_at)
  redis.call('HINCRBY', key, 'created', 1)
  redis.call('EXPIREAT', key, expire_at)
end
-- After akey entered 'to' at 'at' (ms); path: the page path, used at its first show.
local function report_transition(key, akey, to, at, path, expire_at)
  local a = redis.call('HMGET', akey, 'rd', 'rp', 'channel', 'reason')
  if to == 'delivered' then
    if a[1] then return end
    path = path or '(unknown)'
    redis.call('HINCRBY', key, 'delivered', 1)
    report_named(key, 'ps', path)
    redis.call('HSET', akey, 'rd', at, 'rp', path)
  elseif to == 'accepted' then
    redis.call('HINCRBY', key, 'accepted', 1)
    report_named(key, 'ch', a[3] or '${NONE}')
    if a[1] then
      report_answer(key, tonumber(at) - tonumber(a[1]))
      report_named(key, 'pa', a[2] or '(unknown)')
    end
  elseif to == 'declined' then
    redis.call('HINCRBY', key, 'declined', 1)
    if a[1] then report_answer(key, tonumber(at) - tonumber(a[1])) end
  elseif to == 'cancelled' then
    redis.call('HINCRBY', key, 'cancelled', 1)
    report_named(key, 're', a[4] or '${NONE}')
  elseif to == 'timed_out' or to == 'expired' then
    redis.call('HINCRBY', key, to, 1)
  else
    return
  end
  if to ~= 'delivered' then redis.call('HDEL', akey, 'rd', 'rp') end
  redis.call('EXPIREAT', key, expire_at)
end
`;

/**
 * Frequency caps (core/caps.ts; the same rule as `capState`, which the
 * contract suite holds both stores to). A browser's budget is a lex zset
 * 'budget' of '<gvid prefix><at, 15 digits>:<r|s>:<id>' (r: reserved at its
 * creation, s: shown, at its first show), with the same members in 'budgetT'
 * scored by at so that old ones are pruned without knowing their browser;
 * 'declined' scores each browser (member) by its last decline. An attempt's
 * hash keeps its member as 'cm'. Only attempts created while a cap is
 * configured enter a budget, so with caps off nothing here writes.
 */
const CAPS_FN = String.raw`
local CAP_WINDOW_MS = ${CAP_WINDOW_MS}
local CAP_KEEP_MS = ${CAP_KEEP_MS}
local MAX_QUIET_MS = ${MAX_QUIET_MS}
local function cap_member(gvid, at, flag, id)
  return lex_prefix(gvid) .. string.format('%015d:', at) .. flag .. ':' .. id
end
-- The browser of an attempt, from its member in the by-browser active index ('gm').
local function gvid_of(gm)
  local len = string.match(gm, '^(%d+):')
  return string.sub(gm, #len + 2, #len + 1 + tonumber(len))
end
local function cap_prune(budget, budget_t, before)
  local old = redis.call('ZRANGEBYSCORE', budget_t, '-inf', '(' .. string.format('%d', before), 'LIMIT', 0, 100)
  if #old > 0 then
    redis.call('ZREM', budget, unpack(old))
    redis.call('ZREM', budget_t, unpack(old))
  end
end
-- {'capped', cap, retryAfter} when a cap refuses a new attempt of this browser at now, else nil.
local function cap_refusal(budget, declined, gvid, now, per_day, quiet_ms)
  local per_day_until, quiet_until
  if per_day then
    local prefix = lex_prefix(gvid)
    -- The newest per_day entries in the window: capped when there are that many; it lifts when the oldest of them leaves.
    local newest = redis.call('ZREVRANGEBYLEX', budget, '(' .. prefix .. ';',
      '[' .. prefix .. string.format('%015d', now - CAP_WINDOW_MS + 1), 'LIMIT', 0, per_day)
    if #newest >= per_day then
      per_day_until = tonumber(string.sub(newest[per_day], #prefix + 1, #prefix + 15)) + CAP_WINDOW_MS
    end
  end
  if quiet_ms then
    local last = redis.call('ZSCORE', declined, gvid)
    if last and tonumber(last) + quiet_ms > now then quiet_until = tonumber(last) + quiet_ms end
  end
  if per_day_until and (not quiet_until or per_day_until >= quiet_until) then
    return {'capped', 'per-day', string.format('%d', per_day_until)}
  elseif quiet_until then
    return {'capped', 'after-decline', string.format('%d', quiet_until)}
  end
  return nil
end
-- A new attempt enters its browser's budget, reserved; returns its member (kept as 'cm').
local function cap_reserve(budget, budget_t, gvid, id, now)
  cap_prune(budget, budget_t, now - CAP_KEEP_MS)
  local member = cap_member(gvid, now, 'r', id)
  redis.call('ZADD', budget, 0, member)
  redis.call('ZADD', budget_t, now, member)
  return member
end
-- After a transition of the attempt 'akey', if it was created under caps (it has 'cm'; any
-- other changes nothing): a first show moves its entry to the show time; cancelled or expired
-- before any show leaves the budget; a decline or close (not an opt-out) starts the quiet time.
local function cap_after_transition(akey, budget, budget_t, declined, id, to, at, reason)
  local a = redis.call('HMGET', akey, 'cm', 'gm')
  local member, gm = a[1], a[2]
  if not member or not gm then return end
  local gvid = gvid_of(gm)
  local reserved = string.sub(member, #lex_prefix(gvid) + 17, #lex_prefix(gvid) + 17) == 'r'
  if to == 'delivered' and reserved then
    redis.call('ZREM', budget, member)
    redis.call('ZREM', budget_t, member)
    local shown = cap_member(gvid, at, 's', id)
    redis.call('ZADD', budget, 0, shown)
    redis.call('ZADD', budget_t, at, shown)
    redis.call('HSET', akey, 'cm', shown)
  elseif (to == 'cancelled' or to == 'expired') and reserved then
    redis.call('ZREM', budget, member)
    redis.call('ZREM', budget_t, member)
    redis.call('HDEL', akey, 'cm')
  elseif to == 'declined' and reason ~= 'opted-out' then
    local last = redis.call('ZSCORE', declined, gvid)
    if not last or tonumber(last) < at then redis.call('ZADD', declined, at, gvid) end
    redis.call('ZREMRANGEBYSCORE', declined, '-inf', '(' .. string.format('%d', at - MAX_QUIET_MS))
  end
end
`;

const SOURCES = {
  /**
   * KEYS: seq log attempt visit optout active activeG visitPages deadlines capBudget capBudgetT capDeclined
   *       reportHour created
   * ARGV: notAfter eventId id visitId pageId? channels invitation timeoutSeconds expirationSeconds
   *       userData extras now nowIso expiresAt exclusive place capPerDay? capAfterDeclineMs? reportExpireAt
   */
  createAttempt:
    PRELUDE +
    PLACEMENT_FN +
    CAPS_FN +
    REPORT_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'exists', redis.call('HGETALL', KEYS[3])} end
local visit = redis.call('HMGET', KEYS[4], 'globalVisitId', 'endedAt')
if not visit[1] or visit[2] then return {'no-visit'} end
local gvid = visit[1]
if redis.call('HGET', KEYS[5], gvid) == '1' then return {'opted-out'} end
local id, visit_id, page_id, now = ARGV[3], ARGV[4], opt(ARGV[5]), tonumber(ARGV[12])
local vprefix = lex_prefix(visit_id)
-- The visit's oldest attempt in progress: '<visit prefix><createdAt, 15 digits>:<seq, 20 digits>:<id>'.
local first = lex_first(KEYS[6], vprefix, 1)[1]
if ARGV[15] == '1' and first then return {'visit-busy', string.sub(first, #vprefix + 38)} end
-- Caps on (either set): checked here, and the attempt enters the browser's budget below.
local caps_on = ARGV[17] ~= '' or ARGV[18] ~= ''
if caps_on then
  local capped = cap_refusal(KEYS[10], KEYS[12], gvid, now, tonumber(opt(ARGV[17])), tonumber(opt(ARGV[18])))
  if capped then return capped end
end
local shown = nil
if ARGV[16] == '1' and (not first or tonumber(string.sub(first, #vprefix + 1, #vprefix + 15)) > now) then
  shown = choose_page(KEYS[8], page_id)
end
-- The event as SQLite records it: before placement, so its page is the one the caller named.
local f = {}
add(f, 'interactionId', id)
add(f, 'visitId', visit_id)
add(f, 'pageId', page_id)
add(f, 'userData', ARGV[10])
local seq = append_event(ARGV[2], 'engagement.pending', ARGV[12], f)
local member = vprefix .. string.format('%015d:%020d:', now, tonumber(seq)) .. id
local gmember = lex_prefix(gvid) .. string.format('%020d:', tonumber(seq)) .. id
local h = {'id', id, 'visitId', visit_id, 'state', 'pending', 'channels', ARGV[6], 'invitation', ARGV[7],
  'timeoutSeconds', ARGV[8], 'expirationSeconds', ARGV[9], 'userData', ARGV[10], 'extras', ARGV[11],
  'createdAt', ARGV[12], 'expiresAt', ARGV[14], 't:pending', ARGV[13], 'am', member, 'gm', gmember}
add(h, 'pageId', page_id)
add(h, 'shownPageId', shown)
if caps_on then add(h, 'cm', cap_reserve(KEYS[10], KEYS[11], gvid, id, now)) end
redis.call('HSET', KEYS[3], unpack(h))
redis.call('ZADD', KEYS[6], 0, member)
redis.call('ZADD', KEYS[7], 0, gmember)
redis.call('ZADD', KEYS[9], ARGV[14], 'expire:' .. id)
report_created(KEYS[#KEYS - 1], ARGV[#ARGV])
redis.call('ZADD', KEYS[#KEYS], 0, string.format('%015d:', now) .. id)
return {'created', redis.call('HGETALL', KEYS[3])}
`,

  /**
   * KEYS: seq log attempt created settled
   * ARGV: notAfter eventId id visitId? reason? now nowIso
   * Listed by the export (created index), not counted in reports; settled at its creation.
   */
  createTombstone:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'exists', redis.call('HGETALL', KEYS[3])} end
local id, visit_id, reason = ARGV[3], opt(ARGV[4]), opt(ARGV[5])
local f = {}
add(f, 'interactionId', id)
add(f, 'visitId', visit_id)
add(f, 'reason', reason)
add(f, 'userData', '{}')
append_event(ARGV[2], 'engagement.cancelled', ARGV[6], f)
local h = {'id', id, 'state', 'cancelled', 'channels', '[]', 'invitation', '{}', 'timeoutSeconds', '0',
  'expirationSeconds', '0', 'userData', '{}', 'extras', '{}', 'createdAt', ARGV[6], 'expiresAt', ARGV[6],
  't:cancelled', ARGV[7]}
add(h, 'visitId', visit_id)
add(h, 'reason', reason)
redis.call('HSET', KEYS[3], unpack(h))
redis.call('ZADD', KEYS[4], 0, string.format('%015d:', tonumber(ARGV[6])) .. id)
index_settled(KEYS[5], id, 'cancelled', ARGV[6])
return {'created', redis.call('HGETALL', KEYS[3])}
`,

  /**
   * KEYS: seq log attempt active activeG deadlines capBudget capBudgetT capDeclined settled reportHour shownPage
   * ARGV: notAfter eventId id from(',a,b,') to at atIso visitId? channel? reason? timeoutAt? pageId?
   *       reportExpireAt
   * shownPage: the page it is shown on (pageId, else where it was placed); its 'path' is counted at a first show.
   */
  transition:
    PRELUDE +
    TRANSITION_FN +
    CAPS_FN +
    REPORT_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
if apply_transition(KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[10], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7],
    opt(ARGV[8]), opt(ARGV[9]), opt(ARGV[10]), opt(ARGV[11]), opt(ARGV[12])) then
  cap_after_transition(KEYS[3], KEYS[7], KEYS[8], KEYS[9], ARGV[3], ARGV[5], tonumber(ARGV[6]), opt(ARGV[10]))
  local path = nil
  if ARGV[5] == 'delivered' then path = redis.call('HGET', KEYS[#KEYS], 'path') or nil end
  report_transition(KEYS[#KEYS - 1], KEYS[3], ARGV[5], ARGV[6], path, ARGV[#ARGV])
  return {'ok', redis.call('HGETALL', KEYS[3])}
end
return {'none'}
`,

  /**
   * KEYS: attempt
   * ARGV: notAfter expected? pageId?
   */
  placeOn:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local a = redis.call('HMGET', KEYS[1], 'state', 'shownPageId')
if not is_active(a[1]) then return {'ok', 0} end
if nn(a[2]) ~= opt(ARGV[2]) then return {'ok', 0} end
local page_id = opt(ARGV[3])
if page_id then
  redis.call('HSET', KEYS[1], 'shownPageId', page_id)
else
  redis.call('HDEL', KEYS[1], 'shownPageId')
end
return {'ok', 1}
`,

  /**
   * KEYS: seq log optout active activeG deadlines settled attempt...(n) reportHour
   * ARGV: notAfter gvid optedOut now nowIso n id...(n) eventId...(n) reportExpireAt
   * The caller read the browser's attempts in progress (their keys must come in
   * KEYS); if another one started since, nothing is written and it reads again.
   */
  setOptOut:
    PRELUDE +
    TRANSITION_FN +
    REPORT_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local gvid = ARGV[2]
if ARGV[3] ~= '1' then
  redis.call('HDEL', KEYS[3], gvid)
  return {'ok'}
end
local n = tonumber(ARGV[6])
local passed = {}
for i = 1, n do passed[ARGV[6 + i]] = true end
local gprefix = lex_prefix(gvid)
for _, member in ipairs(lex_first(KEYS[5], gprefix, n + 1)) do
  if not passed[string.sub(member, #gprefix + 22)] then return {'retry'} end
end
local out = {'ok'}
for i = 1, n do
  if apply_transition(KEYS[7 + i], KEYS[4], KEYS[5], KEYS[6], KEYS[7], ARGV[6 + n + i], ARGV[6 + i], ',pending,delivered,',
      'declined', ARGV[4], ARGV[5], nil, nil, 'opted-out', nil, nil) then
    report_transition(KEYS[#KEYS], KEYS[7 + i], 'declined', ARGV[4], nil, ARGV[#ARGV])
    out[#out + 1] = redis.call('HGETALL', KEYS[7 + i])
  end
end
redis.call('HSET', KEYS[3], gvid, '1')
return out
`,

  /**
   * KEYS: seq log visit live
   * ARGV: notAfter eventId visitId globalVisitId now
   */
  startVisit:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'ok', 0} end
append_event(ARGV[2], 'visit.started', ARGV[5], {'visitId', ARGV[3]})
redis.call('HSET', KEYS[3], 'globalVisitId', ARGV[4], 'startedAt', ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
return {'ok', 1}
`,

  /**
   * KEYS: seq log page visit visitPages open openLive idle held closed
   * ARGV: notAfter eventId pageId visitId url title visible focused locale? now nodeId? bootId? path
   * 'path' is the URL's path as reports count it (core/reports.ts reportPath: no URL parsing in Lua).
   * Returns 2 when the page entered (new, or open again after it closed), 1 for a reconnect, 0 when refused.
   * The page moves to the node (boot) it (re)connected through, or to none.
   */
  openPage:
    PRELUDE +
    HELD_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local page_id, visit_id, now = ARGV[3], ARGV[4], ARGV[10]
local visit = redis.call('HMGET', KEYS[4], 'startedAt', 'endedAt')
if not visit[1] then return {'ok', 0} end
local old = redis.call('HMGET', KEYS[3], 'visitId', 'closedAt', 'connectedAt', 'activeAt', 'nodeId', 'bootId')
-- The same page id claimed for another visit is refused.
if old[1] and old[1] ~= visit_id then return {'ok', 0} end
local entered = (not old[1]) or (old[2] and true)
if entered then
  append_event(ARGV[2], 'page.entered', now, {'visitId', visit_id, 'pageId', page_id})
end
local connected_at = old[3]
if entered then connected_at = now end
local active_at = old[4]
if not old[1] or ARGV[7] == '1' then active_at = now end
redis.call('HSET', KEYS[3], 'visitId', visit_id, 'url', ARGV[5], 'title', ARGV[6], 'visible', ARGV[7],
  'focused', ARGV[8], 'connectedAt', connected_at, 'activeAt', active_at, 'path', ARGV[13])
local locale = opt(ARGV[9])
if locale then redis.call('HSET', KEYS[3], 'locale', locale) else redis.call('HDEL', KEYS[3], 'locale') end
redis.call('HDEL', KEYS[3], 'closedAt')
redis.call('ZREM', KEYS[10], page_id)
redis.call('HSET', KEYS[5], page_id, ARGV[7] .. ' ' .. ARGV[8] .. ' ' .. active_at .. ' ' .. connected_at)
redis.call('SADD', KEYS[6], page_id)
if not visit[2] then redis.call('SADD', KEYS[7], page_id) end
redis.call('HDEL', KEYS[4], 'idleSince')
redis.call('ZREM', KEYS[8], visit_id)
if old[5] then redis.call('ZREM', KEYS[9], held_member(old[5], old[6], page_id)) end
local node_id, boot_id = opt(ARGV[11]), opt(ARGV[12])
if node_id and boot_id then
  redis.call('HSET', KEYS[3], 'nodeId', node_id, 'bootId', boot_id)
  redis.call('ZADD', KEYS[9], 0, held_member(node_id, boot_id, page_id))
else
  redis.call('HDEL', KEYS[3], 'nodeId', 'bootId')
end
if entered then return {'ok', 2} end
return {'ok', 1}
`,

  /**
   * KEYS: page visitPages
   * ARGV: notAfter pageId visitId url? title? visible? focused? locale? now path? (with url)
   */
  updatePage:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local p = redis.call('HMGET', KEYS[1], 'visitId', 'closedAt', 'visible', 'focused', 'activeAt', 'connectedAt')
if not p[1] or p[1] ~= ARGV[3] or p[2] then return {'ok', 0} end
local visible = opt(ARGV[6]) or p[3]
local focused = opt(ARGV[7]) or p[4]
local active_at = p[5]
if visible == '1' and focused == '1' then active_at = ARGV[9] end
local h = {'visible', visible, 'focused', focused, 'activeAt', active_at}
add(h, 'url', opt(ARGV[4]))
add(h, 'path', opt(ARGV[10]))
add(h, 'title', opt(ARGV[5]))
add(h, 'locale', opt(ARGV[8]))
redis.call('HSET', KEYS[1], unpack(h))
redis.call('HSET', KEYS[2], ARGV[2], visible .. ' ' .. focused .. ' ' .. active_at .. ' ' .. p[6])
return {'ok', 1}
`,

  /**
   * KEYS: seq log page visit visitPages open openLive idle held closed ended
   * ARGV: notAfter eventId pageId visitId now heldByNodeId? heldByBootId?
   * With heldBy, only while that boot still holds the page. A page that closes after its
   * visit ended moves the visit's retention time to now (ZADD GT), so that a visit is never
   * pruned before one of its pages.
   */
  closePage:
    PRELUDE +
    HELD_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local page_id, visit_id, now = ARGV[3], ARGV[4], ARGV[5]
local p = redis.call('HMGET', KEYS[3], 'visitId', 'closedAt', 'nodeId', 'bootId')
if not p[1] or p[1] ~= visit_id or p[2] then return {'ok', 0} end
local held_node, held_boot = opt(ARGV[6]), opt(ARGV[7])
if held_node and (p[3] ~= held_node or p[4] ~= held_boot) then return {'ok', 0} end
append_event(ARGV[2], 'page.left', now, {'visitId', visit_id, 'pageId', page_id})
redis.call('HSET', KEYS[3], 'closedAt', now)
if p[3] then redis.call('ZREM', KEYS[9], held_member(p[3], p[4], page_id)) end
redis.call('HDEL', KEYS[5], page_id)
redis.call('SREM', KEYS[6], page_id)
redis.call('SREM', KEYS[7], page_id)
redis.call('ZADD', KEYS[10], now, page_id)
local v = redis.call('HMGET', KEYS[4], 'startedAt', 'endedAt')
if v[2] then
  redis.call('ZADD', KEYS[11], 'GT', now, visit_id)
elseif v[1] and redis.call('HLEN', KEYS[5]) == 0 then
  redis.call('HSET', KEYS[4], 'idleSince', now)
  redis.call('ZADD', KEYS[8], now, visit_id)
end
return {'ok', 1}
`,

  /**
   * KEYS: seq log visit live idle visitPages openLive ended
   * ARGV: notAfter eventId visitId now
   */
  endVisit:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local v = redis.call('HMGET', KEYS[3], 'startedAt', 'endedAt')
if not v[1] or v[2] then return {'ok', 0} end
append_event(ARGV[2], 'visit.ended', ARGV[4], {'visitId', ARGV[3]})
redis.call('HSET', KEYS[3], 'endedAt', ARGV[4])
redis.call('HDEL', KEYS[3], 'idleSince')
redis.call('ZREM', KEYS[4], ARGV[3])
redis.call('ZREM', KEYS[5], ARGV[3])
redis.call('ZADD', KEYS[8], 'GT', ARGV[4], ARGV[3])
-- Pages still open (normally none) no longer count as open pages of a live visit.
local pages = redis.call('HKEYS', KEYS[6])
for i = 1, math.min(#pages, 1000) do redis.call('SREM', KEYS[7], pages[i]) end
return {'ok', 1}
`,

  /**
   * KEYS: nodes reaped
   * ARGV: notAfter nodeId bootId expiresAt
   * A boot heard of first registers; a forgotten (reaped) one is not registered again.
   */
  heartbeat:
    PRELUDE +
    HELD_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local member = node_member(ARGV[2], ARGV[3])
if redis.call('ZSCORE', KEYS[2], member) then return {'ok', 'reaped'} end
redis.call('ZADD', KEYS[1], ARGV[4], member)
return {'ok', 'alive'}
`,

  /**
   * KEYS: nodes reaped
   * ARGV: notAfter nodeId bootId now forgetReapedBefore
   * Only a boot still expired at 'now' goes; it is remembered as reaped (score: when), and
   * reaped boots older than forgetReapedBefore are dropped (one range delete, no loop).
   */
  forgetNode:
    PRELUDE +
    HELD_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local member = node_member(ARGV[2], ARGV[3])
local expires_at = redis.call('ZSCORE', KEYS[1], member)
if not expires_at or tonumber(expires_at) >= tonumber(ARGV[4]) then return {'ok', 0} end
redis.call('ZREM', KEYS[1], member)
redis.call('ZADD', KEYS[2], ARGV[4], member)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
return {'ok', 1}
`,

  /**
   * KEYS: log cursor queue ready waiting
   * ARGV: notAfter now oldest limit types(',a,b,' or '' for all)
   */
  queueWebhookEvents:
    PRELUDE +
    OUTBOX_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local cursor = redis.call('GET', KEYS[2])
if not cursor then
  -- Webhooks were just turned on: start after the newest event, not with the whole history.
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  local last = '0'
  if top then last = string.match(top[1], '^(%d+)') end
  redis.call('SET', KEYS[2], last)
  return {'ok', 0}
end
local entries = redis.call('XRANGE', KEYS[1], '(' .. cursor .. '-0', '+', 'COUNT', tonumber(ARGV[4]))
if #entries == 0 then return {'ok', 0} end
local now, oldest, types = ARGV[2], tonumber(ARGV[3]), ARGV[5]
local last
for _, entry in ipairs(entries) do
  last = string.match(entry[1], '^(%d+)')
  local fields = {}
  local list = entry[2]
  for i = 1, #list, 2 do fields[list[i]] = list[i + 1] end
  if tonumber(fields.at) >= oldest and (types == '' or string.find(types, ',' .. fields.type .. ',', 1, true)) then
    local lane = fields.visitId or fields.interactionId or ''
    redis.call('ZADD', KEYS[3], 0, lane_member(lane, last))
    redis.call('HSET', KEYS[5], last, now .. '|0|' .. lane)
    redis.call('ZADD', KEYS[4], 'NX', now, lane)
  end
end
redis.call('SET', KEYS[2], last)
return {'ok', #entries}
`,

  /**
   * KEYS: log queue ready waiting
   * ARGV: notAfter now leaseUntil limit
   * Returns {'ok', {seq, attempts, fields}...}: the head of each due lane, leased.
   */
  claimWebhookDeliveries:
    PRELUDE +
    OUTBOX_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local lanes = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {'ok'}
for _, lane in ipairs(lanes) do
  local head, seq = lane_head(KEYS[2], lane)
  local record = seq and redis.call('HGET', KEYS[4], seq)
  local entry = seq and redis.call('XRANGE', KEYS[1], seq .. '-0', seq .. '-0')[1]
  if not head then
    redis.call('ZREM', KEYS[3], lane)
  elseif not record or not entry then
    -- Its event is gone (Redis lost data): drop it so the lane moves on.
    redis.call('ZREM', KEYS[2], head)
    redis.call('HDEL', KEYS[4], seq)
    ready_next(KEYS[2], KEYS[3], KEYS[4], lane)
  else
    local _, attempts = parse_delivery(record)
    redis.call('HSET', KEYS[4], seq, ARGV[3] .. '|' .. attempts .. '|' .. lane)
    redis.call('ZADD', KEYS[3], ARGV[3], lane)
    out[#out + 1] = {seq, attempts, entry[2]}
  end
end
return out
`,

  /**
   * KEYS: queue ready waiting
   * ARGV: notAfter seq
   * Only the lane's head is settled: a late or repeated acknowledgement changes nothing.
   */
  webhookDelivered:
    PRELUDE +
    OUTBOX_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local head, lane = head_delivery(KEYS[1], KEYS[3], ARGV[2])
if not head then return {'ok', 0} end
local seq = ARGV[2]
redis.call('ZREM', KEYS[1], head)
redis.call('HDEL', KEYS[3], seq)
ready_next(KEYS[1], KEYS[2], KEYS[3], lane)
return {'ok', 1}
`,

  /**
   * KEYS: queue ready waiting failed
   * ARGV: notAfter seq attempts retryAt? error
   */
  webhookAttemptFailed:
    PRELUDE +
    OUTBOX_FN +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local head, lane = head_delivery(KEYS[1], KEYS[3], ARGV[2])
if not head then return {'ok', 0} end
local seq = ARGV[2]
local retry_at = opt(ARGV[4])
if retry_at then
  redis.call('HSET', KEYS[3], seq, retry_at .. '|' .. ARGV[3] .. '|' .. lane)
  redis.call('ZADD', KEYS[2], retry_at, lane)
  return {'ok', 1}
end
-- Given up: kept as failed (attempts|last error), and the lane moves on.
redis.call('ZREM', KEYS[1], head)
redis.call('HDEL', KEYS[3], seq)
redis.call('HSET', KEYS[4], seq, ARGV[3] .. '|' .. ARGV[5])
ready_next(KEYS[1], KEYS[2], KEYS[3], lane)
return {'ok', 1}
`,

  /**
   * KEYS: log waiting failed
   * ARGV: notAfter before limit
   * Oldest first; stops at the first event at or after 'before'; keeps events still waiting for their webhook.
   */
  pruneEvents:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local before = tonumber(ARGV[2])
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[3]))
local dropped = 0
for _, entry in ipairs(entries) do
  local list = entry[2]
  local at
  for i = 1, #list, 2 do
    if list[i] == 'at' then at = tonumber(list[i + 1]) break end
  end
  if at >= before then break end
  local seq = string.match(entry[1], '^(%d+)')
  if redis.call('HEXISTS', KEYS[2], seq) == 0 then
    redis.call('XDEL', KEYS[1], entry[1])
    redis.call('HDEL', KEYS[3], seq)
    dropped = dropped + 1
  end
end
return {'ok', dropped}
`,

  /**
   * KEYS: closed ended active live idle open openLive page...(np) visit...(nv) visitPages...(nv)
   * ARGV: notAfter before limit np nv pageId...(np) visitId...(nv)
   * One batch of presence retention; the ids were read (ZRANGEBYSCORE of closed, ended) before,
   * so each is checked again here: a page open again, or a visit with an open page or an attempt
   * in progress, stays. Pages first; at most 'limit' records go. An index entry whose record is
   * gone (or whose page is open) is dropped without counting. Returns how many went and how many of the visits stayed
   * (the caller reads past those next time, so that visits waiting for an attempt never stall it).
   */
  pruneVisits:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local before, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local np, nv = tonumber(ARGV[4]), tonumber(ARGV[5])
local dropped, staying = 0, 0
for i = 1, np do
  if dropped >= limit then break end
  local page_id, page_key = ARGV[5 + i], KEYS[7 + i]
  local closed_at = redis.call('HGET', page_key, 'closedAt')
  if closed_at then
    if tonumber(closed_at) < before then
      redis.call('DEL', page_key)
      redis.call('ZREM', KEYS[1], page_id)
      redis.call('SREM', KEYS[6], page_id)
      redis.call('SREM', KEYS[7], page_id)
      dropped = dropped + 1
    end
  else
    -- Gone, or open (openPage takes a page out of the index; an entry made otherwise must not linger).
    redis.call('ZREM', KEYS[1], page_id)
  end
end
for i = 1, nv do
  if dropped >= limit then break end
  local visit_id = ARGV[5 + np + i]
  local visit_key, pages_key = KEYS[7 + np + i], KEYS[7 + np + nv + i]
  local ended_at = redis.call('HGET', visit_key, 'endedAt')
  local due = redis.call('ZSCORE', KEYS[2], visit_id)
  if not ended_at then
    if redis.call('EXISTS', visit_key) == 0 then redis.call('ZREM', KEYS[2], visit_id) end
  elseif due and tonumber(due) < before and redis.call('EXISTS', pages_key) == 0
    and #lex_first(KEYS[3], lex_prefix(visit_id), 1) == 0 then
    redis.call('DEL', visit_key)
    redis.call('ZREM', KEYS[2], visit_id)
    redis.call('ZREM', KEYS[4], visit_id)
    redis.call('ZREM', KEYS[5], visit_id)
    dropped = dropped + 1
  else
    staying = staying + 1
  end
end
return {'ok', dropped, staying}
`,

  /**
   * KEYS: settled created deadlines capBudget capBudgetT attempt...(n)
   * ARGV: notAfter before n id...(n)
   * One batch of attempt retention; the ids were read (ZRANGEBYSCORE of settled) before, so each
   * is checked again here: only an attempt in a terminal state whose settle time (its score) is
   * before 'before' goes, with its entries in the created index, the deadlines and its browser's
   * caps budget ('cm'). An entry whose attempt is gone or in progress is dropped without counting.
   */
  pruneAttempts:
    PRELUDE +
    String.raw`
if stale(ARGV[1]) then return {'stale'} end
local before, n = tonumber(ARGV[2]), tonumber(ARGV[3])
local dropped = 0
for i = 1, n do
  local id, akey = ARGV[3 + i], KEYS[5 + i]
  local a = redis.call('HMGET', akey, 'state', 'createdAt', 'cm')
  local settled_at = redis.call('ZSCORE', KEYS[1], id)
  if not a[1] or is_active(a[1]) then
    redis.call('ZREM', KEYS[1], id)
  elseif settled_at and tonumber(settled_at) < before then
    redis.call('DEL', akey)
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], string.format('%015d:', tonumber(a[2])) .. id)
    redis.call('ZREM', KEYS[3], 'expire:' .. id, 'timeout:' .. id)
    if a[3] then
      redis.call('ZREM', KEYS[4], a[3])
      redis.call('ZREM', KEYS[5], a[3])
    end
    dropped = dropped + 1
  end
end
return {'ok', dropped}
`,
} as const;

export type ScriptName = keyof typeof SOURCES;

function script(source: string) {
  return defineScript({
    SCRIPT: source,
    parseCommand(parser: CommandParser, keys: readonly string[], args: readonly string[]) {
      parser.pushKeysLength([...keys]);
      parser.push(...args);
    },
    transformReply: undefined as unknown as () => unknown,
  });
}

/** Every script, ready for `createClient({ scripts })`. */
export const SCRIPTS = Object.fromEntries(Object.entries(SOURCES).map(([name, source]) => [name, script(source)])) as {
  [K in ScriptName]: ReturnType<typeof script>;
};

/** The Lua source of a script (for tests). */
export const scriptSource = (name: ScriptName): string => SOURCES[name];
