/**
 * Every key the Redis store writes, as functions of the prefix
 * (BECKON_REDIS_PREFIX, `p` below) and ids: the one place that spells key
 * names. The store passes them to its scripts in KEYS; the scripts build
 * none. docs/redis-keys.md explains the same layout for an operator.
 *
 * Short field names (`am`, `gm`, `cm`, `rd`, `rp`, `wh:d`, …) stay as they
 * are: Redis already holds data under them. What each one means:
 *
 * Records
 *   p a:<interactionId>  hash    an attempt (one Engagement):
 *       id visitId pageId shownPageId state channel reason   as in the Engagement (absent = null)
 *       channels invitation userData extras                  JSON documents, as the text the store made
 *       timeoutSeconds expirationSeconds                     numbers
 *       createdAt expiresAt timeoutAt                        ms (timeoutAt: set at the first show)
 *       t:<state>                                            ISO time it entered that state
 *       am   its member in progress by visit (active member)   while it is, or was, in progress;
 *            in attempts:ix behind the tag 'a:'
 *       gm   its member in progress by browser (global member) likewise; behind the tag 'b:'
 *       cm   its member in `caps:budget` (cap member)         only if created while a cap was on
 *       rd   when it was first shown, ms (report: delivered)  from its first show; kept once it settles
 *       rp   the path of that page (report: path)             likewise
 *       pc   the paced channels it counts on, as lex texts    only if it offered one; in the order
 *            '<len>:<channel>:' (paced channels counted)      offered; kept once it settles
 *   p v:<visitId>        hash    a visit: globalVisitId startedAt idleSince? endedAt? (ms)
 *   p vp:<visitId>       hash    the visit's open pages: pageId -> 'visible focused activeAt connectedAt'
 *                                (what attention order needs, so engage places without reading pages)
 *   p pg:<pageId>        hash    a page: visitId url title visible focused ('1'/'0') locale?
 *                                connectedAt activeAt closedAt? (ms), path (its URL's path as reports
 *                                count it), nodeId bootId (who holds its socket; kept after it closes)
 *
 * The event log
 *   p seq                string  the seq of the newest event (a new epoch starts at Redis ms x 100)
 *   p log                stream  the events, entry id '<seq>-0'; fields id type at interactionId visitId
 *                                pageId channel reason userData (absent = null)
 *
 * Indexes (a few global keys with ordered members rather than one key per
 * visit, lane or browser, so that every key a script touches is known before
 * it runs). Lex members write a text as '<byte length>:<text>:'.
 *   p attempts:ix        zset    the index of attempts, lex, score 0: four families of members, each
 *                                behind its tag (ATTEMPT_INDEX_TAG), so that their ranges never overlap:
 *       a:<len>:<visitId>:<createdAt, 15 digits>:<seq, 20 digits>:<id>   in progress, by visit ('am')
 *       b:<len>:<globalVisitId>:<seq, 20 digits>:<id>                    in progress, by browser ('gm')
 *       c:<createdAt, 15 digits>:<id>                                    every attempt, by creation
 *       h:<len>:<globalVisitId>:<len>:<visitId>:<createdAt, 15 digits>:<seq, 20 digits>:<id>
 *                                every attempt by browser, then visit ('hm'; tombstones naming a visit
 *                                too); kept after its visit is pruned (the attempt outlives it), so
 *                                that an erasure finds it
 *   p deadlines          zset    'expire:<id>' (pending) and 'timeout:<id>' (delivered), score: due ms;
 *                                a delivered attempt's 'expire:<id>' stays, parked at +inf
 *   p settled            zset    settled attempts (tombstones too), score: settle time
 *   p live               zset    live visits, score: startedAt
 *   p idle               zset    live visits with no open page, score: idleSince
 *   p ended              zset    ended visits, score: endedAt, or the close of a page that closed later
 *   p open               set     every open page
 *   p openlive           set     open pages of live visits
 *   p closed             zset    closed pages, score: closedAt
 *   p held               zset    open pages by the node holding them, lex, score 0:
 *                                '<len>:<nodeId>:<len>:<bootId>:<len>:<pageId>:'
 *   p nodes              zset    registered boots '<len>:<nodeId>:<len>:<bootId>:', score: expiresAt
 *   p nodes:reaped       zset    boots forgotten as dead (same members), score: when; kept a day
 *   p optout             hash    globalVisitId -> '1' for browsers that opted out
 *
 * The webhook outbox (a lane: the visitId, else the interactionId, else '')
 *   p wh:cursor          string  the seq up to which the log was moved into the outbox
 *   p wh:q               zset    waiting deliveries, lex, score 0: '<len>:<lane>:<seq, 20 digits>'
 *   p wh:ready           zset    lanes with a waiting delivery, score: when their head is due
 *   p wh:d               hash    waiting (d: due) deliveries: seq -> 'nextAt|attempts|lane'
 *   p wh:failed          hash    deliveries given up on: seq -> 'attempts|last error'
 *
 * Reports and caps
 *   p rh:<hour ms>       hash    report counters of one UTC hour (rh: report hour), EXPIREAT its end
 *                                plus the report retention. Fields (names in src/core/reports.ts):
 *       created delivered accepted declined timed_out cancelled expired   counts of transitions
 *       ch:<channel>   accepted per channel     re:<reason>  cancelled per reason
 *       ps:<path>      shown per page path      pa:<path>    accepted per page path
 *       tta:<bucket>   answers per time-to-answer bucket (tta: time to answer)
 *       n:<kind>       how many names of ch, re, ps or pa the hour holds (bounded; then '(other)')
 *       rf:<code>      engages refused with that FAULT code (rf: refused; REFUSAL_CODES)
 *       narrowed       attempts created with fewer channels than asked (pacing closed the others)
 *   p caps:budget        zset    each browser's counted attempts, lex, score 0:
 *                                '<len>:<globalVisitId>:<at, 15 digits>:<r|s>:<id>' (r: reserved at
 *                                creation, s: shown, at its first show)
 *   p caps:budget:t      zset    the same members scored by at (t: time), to prune the old ones
 *   p caps:declined      zset    browsers by their last decline or close (score: when)
 *
 * Channels and pacing (includes/channels.lua)
 *   p channels           hash    channel -> its settings (JSON, as the store was given them)
 *   p channels:version   string  moves with every put and every delete of settings (INCR), so that a
 *                                node keeping them in memory learns in createAttempt that they changed
 *   p channels:load      hash    what the store counts of each channel, '<kind>:<channel>' ->
 *       ip:<channel>   attempts in progress that count on it (in progress)
 *       fs:<channel>   free slots of its last capacity report (free slots)
 *       ra:<channel>   when the store received that report, ms (reported at)
 *       as:<channel>   accepted with it since that report (accepted since)
 *       ow:<channel>   its latest answered outcomes, oldest first, '1' accepted with it, '0' not
 *                      (outcome window; at most ACCEPTANCE_WINDOW)
 *       oa:<channel>   how many '1' ow holds (outcomes accepted)
 *
 * Replication (BECKON_REDIS_MIN_REPLICAS)
 *   p replicated         string  a counter a confirmed write increments when its answer rests on an
 *                                earlier write (an engage retried): the WAIT after it then covers
 *                                everything written before, whichever connection wrote it
 *
 * Visitor context (docs/visitor-context.md)
 *   p vi:<visitId>       hash    the visit's identity (vi: visit identity): userId (its JSON text; absent:
 *                                none, user info only), verified ('1'/'0'), at (ms), and one field per
 *                                trait, 't:<name>' -> '<JSON name>:<JSON value>' (a member of the traits'
 *                                JSON object, made by the store, so that Lua joins them without encoding)
 *   p ve:<visitId>       list    the visit's latest business events, newest first (ve: visit events), at
 *                                most KEPT_BUSINESS_EVENTS, each the JSON text {name, data, at, pageId}
 *   p visits:g           zset    visits by browser, lex, score 0:
 *                                '<len>:<globalVisitId>:<startedAt, 15 digits>:<visitId>'
 *   p pages:v            zset    every page of a visit, lex, score 0:
 *                                '<len>:<visitId>:<enteredAt, 15 digits>:<pageId>'
 *   p erasing:<marker>   zset    a browser's erasure under way: its erased visits (and those of its
 *                                attempts), score the seq their visit.started has (0: unknown, the log
 *                                is read from its start), until the log holds none of their events
 *   p erased             hash    erased browsers: marker (keyed hash of the globalVisitId) -> 'erasedAt:until'
 *                                (ms each; the latest erasure's)
 *   p erased:t           zset    the same markers, score: until (dropped once past)
 *   Fields added to records: v: 'ss' (the seq of its visit.started); pg: 'enteredAt' (ms it first
 *   entered); a: 'hm' (its member by browser and visit, history member; in attempts:ix behind 'h:').
 *
 * Written by older versions, moved into attempts:ix when the store opens (attempt-index.ts):
 *   p active, p active:g, p created, p attempts:g   the four families above, each a key of its own
 *                                                   and without the tag
 */

/** The key names of one store, from its prefix. */
export function redisKeys(prefix: string) {
  const p = prefix;
  return {
    // records
    attempt: (interactionId: string) => `${p}a:${interactionId}`,
    visit: (visitId: string) => `${p}v:${visitId}`,
    visitPages: (visitId: string) => `${p}vp:${visitId}`,
    page: (pageId: string) => `${p}pg:${pageId}`,
    // the event log
    seq: `${p}seq`,
    log: `${p}log`,
    // indexes
    attemptIndex: `${p}attempts:ix`,
    deadlines: `${p}deadlines`,
    settled: `${p}settled`,
    live: `${p}live`,
    idle: `${p}idle`,
    ended: `${p}ended`,
    open: `${p}open`,
    openLive: `${p}openlive`,
    closed: `${p}closed`,
    held: `${p}held`,
    nodes: `${p}nodes`,
    reaped: `${p}nodes:reaped`,
    optOut: `${p}optout`,
    // the webhook outbox
    whCursor: `${p}wh:cursor`,
    whQueue: `${p}wh:q`,
    whReady: `${p}wh:ready`,
    whWaiting: `${p}wh:d`,
    whFailed: `${p}wh:failed`,
    // reports and caps
    /** The report hour starting at `hour` (epoch ms, on the hour). */
    reportHour: (hour: number) => `${p}rh:${hour}`,
    capBudget: `${p}caps:budget`,
    capBudgetByAge: `${p}caps:budget:t`,
    capDeclined: `${p}caps:declined`,
    // channels and pacing
    channels: `${p}channels`,
    channelsVersion: `${p}channels:version`,
    channelLoad: `${p}channels:load`,
    // replication
    replicationMark: `${p}replicated`,
    // visitor context
    visitIdentity: (visitId: string) => `${p}vi:${visitId}`,
    visitEvents: (visitId: string) => `${p}ve:${visitId}`,
    visitsByBrowser: `${p}visits:g`,
    pagesByVisit: `${p}pages:v`,
    /** A browser's erasure while it runs: its visits, so that a repeated call finishes the log. */
    erasing: (markerKey: string) => `${p}erasing:${markerKey}`,
    erased: `${p}erased`,
    erasedUntil: `${p}erased:t`,
    /** The four keys attempts:ix took the place of, by the tag their members take in it. */
    formerAttemptIndexes: {
      'a:': `${p}active`,
      'b:': `${p}active:g`,
      'c:': `${p}created`,
      'h:': `${p}attempts:g`,
    } as const,
    /** A SCAN pattern for every key of this store. */
    everything: `${p}*`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * The tag before each family of members in `attempts:ix` (includes/attemptindex.lua spells the same):
 * attempts in progress by visit and by browser, every attempt by creation, and by browser then visit.
 */
export const ATTEMPT_INDEX_TAG = { active: 'a:', activeByBrowser: 'b:', created: 'c:', history: 'h:' } as const;
export type AttemptIndexTag = (typeof ATTEMPT_INDEX_TAG)[keyof typeof ATTEMPT_INDEX_TAG];

/** The record a key of this store holds (a page, a visit, an attempt), or null for any other key. */
export function recordOfKey(prefix: string, key: string): { kind: 'page' | 'visit' | 'attempt'; id: string } | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  if (rest.startsWith('pg:')) return { kind: 'page', id: rest.slice(3) };
  if (rest.startsWith('v:')) return { kind: 'visit', id: rest.slice(2) };
  if (rest.startsWith('a:')) return { kind: 'attempt', id: rest.slice(2) };
  return null;
}
