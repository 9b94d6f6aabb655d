/**
 * The Redis store (REDIS_URL): the same semantics as the SQLite store, for
 * any number of processes on one Redis. Every change is ONE Lua script
 * (scripts.ts) that checks, then writes the event and the change together;
 * reads are plain commands. All keys start with the configured prefix
 * (BECKON_REDIS_PREFIX), spelled out here and passed to scripts in KEYS.
 *
 * Key layout (`p` = prefix):
 *   p seq                    string   seq of the newest event (a new epoch starts at Redis ms x 100)
 *   p log                    stream   the event log, id `<seq>-0`; fields id type at interactionId
 *                                     visitId pageId channel reason userData (absent = null)
 *   p a:<interactionId>      hash     an attempt: the Engagement's fields (JSON documents as text,
 *                                     times in ms, `t:<state>` = ISO time of each transition) plus
 *                                     `am`/`gm`, its members in the two active indexes
 *   p active                 zset     attempts in progress, lex order, score 0:
 *                                     `<len>:<visitId>:<createdAt 15>:<seq 20>:<id>`, so one visit's
 *                                     attempts sit together in created order (SQLite: created_at, rowid)
 *   p active:g               zset     the same by browser: `<len>:<globalVisitId>:<seq 20>:<id>` (opt-out)
 *   p deadlines              zset     `expire:<id>` (pending) and `timeout:<id>` (delivered), score = due ms
 *   p v:<visitId>            hash     globalVisitId startedAt idleSince? endedAt?
 *   p vp:<visitId>           hash     the visit's open pages: pageId -> `visible focused activeAt connectedAt`
 *                                     (what attention order needs, so engage places without reading pages)
 *   p pg:<pageId>            hash     a page: visitId url title visible focused locale? connectedAt activeAt closedAt?
 *                                     path (its URL's path as reports count it; absent on pages opened before reports)
 *   p live                   zset     live visits, score startedAt
 *   p idle                   zset     live visits with no open page, score idleSince
 *   p open                   set      every open page (closeAllPages)
 *   p held                   zset     open pages held by a node, lex order, score 0:
 *                                     `<len>:<nodeId>:<len>:<bootId>:<len>:<pageId>:` (pagesHeldBy, pagesOfBoot);
 *                                     the page hash keeps `nodeId`/`bootId` (kept after it closes)
 *   p nodes                  zset     registered boots `<len>:<nodeId>:<len>:<bootId>:`, score = expiresAt
 *   p nodes:reaped           zset     boots forgotten as dead (same members), score = when; their heartbeat
 *                                     answers 'reaped'; pruned a day after (forgetNode)
 *   p openlive               set      open pages of live visits (counts)
 *   p closed                 zset     closed pages, score = closedAt (pruneVisits; a page open again leaves it)
 *   p ended                  zset     ended visits, score = endedAt, or the close of a page that closed after
 *                                     the visit ended, whichever is later (pruneVisits: never before a page)
 *   p optout                 hash     globalVisitId -> '1' for browsers that opted out
 *   p wh:cursor              string   seq up to which the log was moved into the webhook outbox
 *   p wh:q                   zset     waiting deliveries, lex order, score 0: `<len>:<lane>:<seq 20>`;
 *                                     lane = visitId ?? interactionId ?? '', so a lane's head is its first member
 *   p wh:ready               zset     lanes with a waiting delivery, score = when their head is due
 *                                     (a lease pushes it to leaseUntil, a failure to retryAt)
 *   p wh:d                   hash     waiting deliveries: seq -> `nextAt|attempts|lane` (backlog, retention floor)
 *   p wh:failed              hash     deliveries given up on: seq -> `attempts|last error`
 *   p rh:<hour ms>           hash     report counters of one UTC hour (core/reports.ts names), EXPIREAT
 *                                     the hour's end + BECKON_REPORT_RETENTION_DAYS; an attempt's hash
 *                                     keeps `rd`/`rp` (first shown ms, page path) until it settles
 *   p created                zset     every attempt (tombstones too) by creation, lex order, score 0:
 *                                     `<createdAt 15>:<id>` (the export's order: createdAt, then id bytes)
 *   p settled                zset     attempts in a terminal state (tombstones too), member id, score = settle
 *                                     time (the terminal transition; a tombstone's creation): pruneAttempts
 *   p caps:budget            zset     frequency caps (core/caps.ts): each browser's counted attempts, lex order,
 *                                     score 0: `<len>:<globalVisitId>:<at 15>:<r|s>:<id>` (r: reserved at
 *                                     creation, s: shown, at its first show); the attempt hash keeps it as `cm`
 *   p caps:budget:t          zset     the same members scored by at: entries older than two days are pruned
 *   p caps:declined          zset     browsers by their last decline or close (member globalVisitId, score = when),
 *                                     pruned after the longest quiet time (30 days)
 *
 * Choices:
 * - Indexes are a few global zsets/sets with lex-ordered members rather than
 *   one key per visit/lane/browser, so that every key a script touches is
 *   known before it runs (KEYS), with no key names built inside Lua.
 * - A page's visit never changes, so updatePage/closePage (which name only
 *   the page) look it up first (cached in this process) and the script checks it.
 * - setOptOut reads the browser's attempts in progress first; the script
 *   refuses (and the store reads again) if another one started meanwhile.
 * - Times come from the caller (the interface passes `now`/`at`), not from
 *   Redis TIME: the core decides them, and the contract fixes them.
 * - Event ids are UUIDs made here and passed in ARGV, one per event.
 * - Retention deletes single entries (XDEL) rather than XTRIM MINID, since an
 *   event still waiting for its webhook must stay while older ones go.
 * - Filters of eventsAfter (type, visit) are applied while reading the log in
 *   batches; there is no per-visit index of events.
 */
import { randomUUID } from 'node:crypto';
import {
  ENGAGEMENT_STATES,
  type BeckonEvent,
  type Engagement,
  type EngagementState,
  type EventType,
} from '../../protocol/index.js';
import { toBeckonEvent } from '../../core/events.js';
import { byAttention } from '../../core/placement.js';
import {
  StoreUnavailableError,
  type BeckonStore,
  type CreateResult,
  type DueDeadline,
  type HeldPage,
  type LiveVisit,
  type NodeRef,
  REAPED_MEMORY_MS,
  REAPED_SCAN,
  type PageRecord,
  type VisitRecord,
  type WebhookDelivery,
} from '../../core/store.js';
import { StoreConnection, durabilityWarnings, type ConnectionHealth } from './connection.js';
import { SCRIPTS, type ScriptName } from './scripts.js';
import { EventListeners } from '../listeners.js';
import { HOUR_MS, hourOf, reportPath, type ReportHour } from '../../core/reports.js';
import { CAP_WINDOW_MS, capsOn, type BrowserBudget, type CapName, type CapSettings } from '../../core/caps.js';

export interface RedisStoreOptions {
  url: string;
  /** Starts every key name (BECKON_REDIS_PREFIX). */
  prefix: string;
  /** How long opening waits for Redis before failing with StoreUnavailableError. */
  openTimeoutMs?: number;
  /** Connection errors (each reconnect attempt reports one); none by default. */
  onConnectionError?: (error: unknown) => void;
  /** The connection is ready again after it was lost (not called for the first connection). */
  onConnectionRestored?: () => void;
  /** How long report hours are kept after they end (BECKON_REPORT_RETENTION_DAYS); 400 days by default. */
  reportRetentionMs?: number;
}

export interface RedisStore extends BeckonStore {
  readonly kind: 'redis';
  /** The connection's state, for /readyz and logs. */
  health(): ConnectionHealth;
  /** What about this Redis could lose data (see connection.ts), to log at start. */
  durabilityWarnings(): Promise<string[]>;
}

type Fields = Record<string, string>;
type ScriptCaller = Record<ScriptName, (keys: readonly string[], args: readonly string[]) => Promise<unknown>>;

/** The frequency-cap arguments of createAttempt: '' for a cap that is off. */
const capArgs = (caps: CapSettings | undefined): string[] =>
  capsOn(caps)
    ? [
        caps.perDay === null ? '' : `=${caps.perDay}`,
        caps.afterDeclineMs === null ? '' : `=${int(caps.afterDeclineMs)}`,
      ]
    : ['', ''];

/** Attempts read, pages listed, visits per batch: bounds on each read. */
const MAX_ACTIVE = 10_000;
const DUE_BATCH = 500;
const LOG_BATCH = 1000;
const READ_BATCH = 200;
const PAGE_CACHE = 100_000;
/** Reads of candidates per pruneVisits / pruneAttempts call (each past the records that had to stay or were gone). */
const PRUNE_ROUNDS = 10;
const DEFAULT_REPORT_RETENTION_MS = 400 * 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();
/** A nullable string for a script: '' for null, '=' + text otherwise. */
const opt = (text: string | null | undefined) => (text === null || text === undefined ? '' : `=${text}`);
const int = (ms: number) => String(Math.round(ms));
/** The prefix of a lex index member (same as `lex_prefix` in Lua, which counts bytes). */
const lexPrefix = (text: string) => `${Buffer.byteLength(text)}:${text}:`;
const lexRange = (prefix: string) => [`[${prefix}`, `(${prefix};`] as const;
/** The texts of a member made of lex prefixes (`<byte length>:<text>:` each), in order. */
function splitLex(member: string): string[] {
  const bytes = Buffer.from(member);
  const out: string[] = [];
  for (let i = 0; i < bytes.length;) {
    const colon = bytes.indexOf(0x3a, i);
    const length = Number(bytes.toString('latin1', i, colon));
    out.push(bytes.toString('utf8', colon + 1, colon + 1 + length));
    i = colon + 1 + length + 1;
  }
  return out;
}

/** A flat [field, value, …] reply as an object. */
function pairs(flat: unknown): Fields {
  const list = flat as string[];
  const out: Fields = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

const isEmpty = (fields: Fields) => Object.keys(fields).length === 0;

function toEngagement(h: Fields): Engagement {
  const transitions: Engagement['transitions'] = {};
  for (const state of ENGAGEMENT_STATES) {
    const at = h[`t:${state}`];
    if (at !== undefined) transitions[state] = at;
  }
  return {
    interactionId: h.id!,
    visitId: h.visitId ?? null,
    pageId: h.pageId ?? null,
    shownPageId: h.shownPageId ?? null,
    state: h.state as EngagementState,
    channels: JSON.parse(h.channels!),
    channel: h.channel ?? null,
    reason: h.reason ?? null,
    invitation: JSON.parse(h.invitation!),
    timeoutSeconds: Number(h.timeoutSeconds),
    expirationSeconds: Number(h.expirationSeconds),
    userData: JSON.parse(h.userData!),
    extras: JSON.parse(h.extras!),
    createdAt: iso(Number(h.createdAt)),
    expiresAt: iso(Number(h.expiresAt)),
    timeoutAt: h.timeoutAt === undefined ? null : iso(Number(h.timeoutAt)),
    transitions,
  };
}

function toEvent(seq: number, f: Fields): BeckonEvent {
  return toBeckonEvent({
    id: f.id!,
    seq,
    type: f.type as EventType,
    at: Number(f.at),
    interactionId: f.interactionId ?? null,
    visitId: f.visitId ?? null,
    pageId: f.pageId ?? null,
    channel: f.channel ?? null,
    reason: f.reason ?? null,
    userData: f.userData === undefined ? {} : JSON.parse(f.userData),
  });
}

const toVisit = (visitId: string, h: Fields): VisitRecord => ({
  visitId,
  globalVisitId: h.globalVisitId!,
  startedAt: Number(h.startedAt),
  idleSince: h.idleSince === undefined ? null : Number(h.idleSince),
  endedAt: h.endedAt === undefined ? null : Number(h.endedAt),
});

const toPage = (pageId: string, h: Fields): PageRecord => ({
  pageId,
  visitId: h.visitId!,
  url: h.url!,
  title: h.title!,
  visible: h.visible === '1',
  focused: h.focused === '1',
  locale: h.locale ?? null,
  connectedAt: Number(h.connectedAt),
  activeAt: Number(h.activeAt),
  closedAt: h.closedAt === undefined ? null : Number(h.closedAt),
  nodeId: h.nodeId ?? null,
  bootId: h.bootId ?? null,
});

/** Attention order (core/placement.ts), ties by page id as the engage script breaks them. */
const attentionOrder = (a: PageRecord, b: PageRecord) =>
  byAttention(a, b) || (a.pageId < b.pageId ? -1 : a.pageId > b.pageId ? 1 : 0);

const seqOf = (streamId: string) => Number(streamId.slice(0, streamId.indexOf('-')));

/** Opens the Redis store; fails with StoreUnavailableError if Redis does not answer within `openTimeoutMs`. */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const p = options.prefix;
  const k = {
    seq: `${p}seq`,
    log: `${p}log`,
    attempt: (id: string) => `${p}a:${id}`,
    active: `${p}active`,
    activeByBrowser: `${p}active:g`,
    deadlines: `${p}deadlines`,
    visit: (id: string) => `${p}v:${id}`,
    visitPages: (id: string) => `${p}vp:${id}`,
    page: (id: string) => `${p}pg:${id}`,
    live: `${p}live`,
    idle: `${p}idle`,
    open: `${p}open`,
    openLive: `${p}openlive`,
    closed: `${p}closed`,
    ended: `${p}ended`,
    held: `${p}held`,
    nodes: `${p}nodes`,
    reaped: `${p}nodes:reaped`,
    optOut: `${p}optout`,
    whCursor: `${p}wh:cursor`,
    whQueue: `${p}wh:q`,
    whReady: `${p}wh:ready`,
    whWaiting: `${p}wh:d`,
    whFailed: `${p}wh:failed`,
    reportHour: (at: number) => `${p}rh:${hourOf(at)}`,
    created: `${p}created`,
    settled: `${p}settled`,
    capBudget: `${p}caps:budget`,
    capBudgetByAge: `${p}caps:budget:t`,
    capDeclined: `${p}caps:declined`,
  };
  const reportRetentionMs = options.reportRetentionMs ?? DEFAULT_REPORT_RETENTION_MS;
  /** When the report hour of `at` expires (unix seconds): its end + the retention. */
  const reportExpireAt = (at: number) => String(Math.floor((hourOf(at) + HOUR_MS + reportRetentionMs) / 1000));
  /** A member of the created index: the export's order. */
  const createdMember = (createdAt: number, id: string) => `${String(Math.round(createdAt)).padStart(15, '0')}:${id}`;

  const conn = await StoreConnection.open(SCRIPTS, {
    url: options.url,
    ...(options.openTimeoutMs !== undefined ? { openTimeoutMs: options.openTimeoutMs } : {}),
    ...(options.onConnectionError ? { onError: options.onConnectionError } : {}),
    ...(options.onConnectionRestored ? { onRestored: options.onConnectionRestored } : {}),
  });

  /** Runs one script; its first reply element says how it went ('stale': it ran too late and changed nothing). */
  async function exec(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<unknown[]> {
    const reply = (await conn.run((client) =>
      (client as unknown as ScriptCaller)[name](keys, [conn.notAfter(), ...args]),
    )) as unknown[];
    if (reply[0] === 'stale') {
      throw new StoreUnavailableError(
        'Redis ran the change only after the call had given up, so it refused it; nothing was changed.',
      );
    }
    return reply;
  }

  const listeners = new EventListeners();
  /** After a change that recorded events has committed (the script returned). */
  const recorded = () => listeners.notify();

  // A page's visit never changes once the page exists: remembered here.
  const pageVisits = new Map<string, string>();
  const rememberPage = (pageId: string, visitId: string) => {
    if (pageVisits.size >= PAGE_CACHE) pageVisits.delete(pageVisits.keys().next().value!);
    pageVisits.set(pageId, visitId);
  };
  /** Runs `change` with the page's visit; once more with a fresh look-up if a remembered visit was refused. */
  async function withPageVisit<T>(pageId: string, change: (visitId: string) => Promise<T | null>, none: T): Promise<T> {
    const cached = pageVisits.get(pageId);
    if (cached !== undefined) {
      const result = await change(cached);
      if (result !== null) return result;
      pageVisits.delete(pageId);
    }
    const visitId = await conn.run((c) => c.hGet(k.page(pageId), 'visitId'));
    if (visitId === null || visitId === undefined) return none;
    rememberPage(pageId, visitId);
    if (visitId === cached) return none;
    return (await change(visitId)) ?? none;
  }

  async function getEngagement(interactionId: string): Promise<Engagement | null> {
    const h = (await conn.run((c) => c.hGetAll(k.attempt(interactionId)))) as Fields;
    return isEmpty(h) ? null : toEngagement(h);
  }

  async function closePage(pageId: string, now: number, heldBy?: NodeRef): Promise<boolean> {
    return withPageVisit(
      pageId,
      async (visitId) => {
        const reply = await exec(
          'closePage',
          [
            k.seq,
            k.log,
            k.page(pageId),
            k.visit(visitId),
            k.visitPages(visitId),
            k.open,
            k.openLive,
            k.idle,
            k.held,
            k.closed,
            k.ended,
          ],
          [randomUUID(), pageId, visitId, int(now), opt(heldBy?.nodeId), opt(heldBy?.bootId)],
        );
        if (reply[1] !== 1) return null;
        recorded();
        return true;
      },
      false,
    );
  }

  /** Open pages in the held index between two lex bounds, at most `limit`, with their visits. */
  async function heldPages(ranges: (readonly [string, string])[], limit: number): Promise<HeldPage[]> {
    const members: string[] = [];
    for (const [min, max] of ranges) {
      if (members.length >= limit) break;
      const count = limit - members.length;
      members.push(...(await conn.run((c) => c.zRangeByLex(k.held, min, max, { LIMIT: { offset: 0, count } }))));
    }
    const pages = members.map((member) => {
      const [nodeId, bootId, pageId] = splitLex(member) as [string, string, string];
      return { pageId, node: { nodeId, bootId } };
    });
    const visits = await conn.run((c) => Promise.all(pages.map((page) => c.hGet(k.page(page.pageId), 'visitId'))));
    return pages.flatMap((page, i) => {
      const visitId = visits[i];
      return typeof visitId === 'string' ? [{ pageId: page.pageId, visitId, node: page.node }] : [];
    });
  }

  const store: RedisStore = {
    kind: 'redis',

    // ── presence ──

    async startVisit(visit, now) {
      const reply = await exec(
        'startVisit',
        [k.seq, k.log, k.visit(visit.visitId), k.live],
        [randomUUID(), visit.visitId, visit.globalVisitId, int(now)],
      );
      if (reply[1] === 1) recorded();
    },

    async getVisit(visitId) {
      const h = (await conn.run((c) => c.hGetAll(k.visit(visitId)))) as Fields;
      return isEmpty(h) ? null : toVisit(visitId, h);
    },

    async openPage({ pageId, visitId, info, node }, now) {
      const reply = await exec(
        'openPage',
        [
          k.seq,
          k.log,
          k.page(pageId),
          k.visit(visitId),
          k.visitPages(visitId),
          k.open,
          k.openLive,
          k.idle,
          k.held,
          k.closed,
        ],
        [
          randomUUID(),
          pageId,
          visitId,
          info.url,
          info.title,
          info.visible ? '1' : '0',
          info.focused ? '1' : '0',
          opt(info.locale),
          int(now),
          opt(node?.nodeId),
          opt(node?.bootId),
          reportPath(info.url),
        ],
      );
      if (reply[1] !== 0) rememberPage(pageId, visitId);
      if (reply[1] === 2) recorded();
    },

    async updatePage(pageId, update, now) {
      const bool = (value: boolean | undefined) => (value === undefined ? '' : value ? '=1' : '=0');
      await withPageVisit(
        pageId,
        async (visitId) => {
          const reply = await exec(
            'updatePage',
            [k.page(pageId), k.visitPages(visitId)],
            [
              pageId,
              visitId,
              opt(update.url),
              opt(update.title),
              bool(update.visible),
              bool(update.focused),
              opt(update.locale),
              int(now),
              update.url === undefined ? '' : `=${reportPath(update.url)}`,
            ],
          );
          // 0: closed or unknown, which a fresh look-up of the visit would not change unless it was wrong.
          return reply[1] === 1 ? true : null;
        },
        false,
      );
    },

    closePage,

    async getPage(pageId) {
      const h = (await conn.run((c) => c.hGetAll(k.page(pageId)))) as Fields;
      return isEmpty(h) ? null : toPage(pageId, h);
    },

    async openPages(visitId) {
      const pages = await conn.run(async (c) => {
        const ids = await c.hKeys(k.visitPages(visitId));
        const hashes = await Promise.all(ids.map((id) => c.hGetAll(k.page(id))));
        return ids.map((id, i) => toPage(id, hashes[i] as Fields));
      });
      return pages.filter((page) => page.closedAt === null && page.visitId === visitId).sort(attentionOrder);
    },

    async liveVisits(): Promise<LiveVisit[]> {
      const visitIds = await conn.run((c) => c.zRange(k.live, 0, -1, { REV: true }));
      const out: LiveVisit[] = [];
      for (let start = 0; start < visitIds.length; start += READ_BATCH) {
        const batch = visitIds.slice(start, start + READ_BATCH);
        const rows = await conn.run(async (c) =>
          Promise.all(
            batch.map(async (visitId) => {
              const [visit, pageIds, active] = await Promise.all([
                c.hGetAll(k.visit(visitId)),
                c.hKeys(k.visitPages(visitId)),
                c.zRangeByLex(k.active, ...lexRange(lexPrefix(visitId)), { LIMIT: { offset: 0, count: 1 } }),
              ]);
              const pages = await Promise.all(
                pageIds.map(async (id) => toPage(id, (await c.hGetAll(k.page(id))) as Fields)),
              );
              return { visitId, visit: visit as Fields, pages, active: active[0] };
            }),
          ),
        );
        for (const row of rows) {
          if (isEmpty(row.visit) || row.visit.endedAt !== undefined) continue;
          const prefix = lexPrefix(row.visitId);
          out.push({
            ...toVisit(row.visitId, row.visit),
            pages: row.pages.filter((page) => page.closedAt === null).sort((a, b) => b.activeAt - a.activeAt),
            activeInteractionId: row.active === undefined ? null : row.active.slice(prefix.length + 37),
          });
        }
      }
      return out;
    },

    async endVisit(visitId, now) {
      const reply = await exec(
        'endVisit',
        [k.seq, k.log, k.visit(visitId), k.live, k.idle, k.visitPages(visitId), k.openLive, k.ended],
        [randomUUID(), visitId, int(now)],
      );
      if (reply[1] !== 1) return false;
      recorded();
      return true;
    },

    async setOptOut(globalVisitId, optedOut, now) {
      const fixedKeys = [k.seq, k.log, k.optOut, k.active, k.activeByBrowser, k.deadlines, k.settled];
      if (!optedOut) {
        await exec(
          'setOptOut',
          [...fixedKeys, k.reportHour(now)],
          [globalVisitId, '0', int(now), iso(now), '0', reportExpireAt(now)],
        );
        return [];
      }
      const prefix = lexPrefix(globalVisitId);
      for (let round = 0; round < 5; round++) {
        const members = await conn.run((c) =>
          c.zRangeByLex(k.activeByBrowser, ...lexRange(prefix), { LIMIT: { offset: 0, count: MAX_ACTIVE } }),
        );
        const ids = members.map((member) => member.slice(prefix.length + 21));
        const reply = await exec(
          'setOptOut',
          [...fixedKeys, ...ids.map(k.attempt), k.reportHour(now)],
          [
            globalVisitId,
            '1',
            int(now),
            iso(now),
            String(ids.length),
            ...ids,
            ...ids.map(() => randomUUID()),
            reportExpireAt(now),
          ],
        );
        if (reply[0] === 'retry') continue;
        const declined = reply.slice(1).map((flat) => toEngagement(pairs(flat)));
        if (declined.length > 0) recorded();
        return declined;
      }
      throw new Error('Opting out kept racing new attempts of the same browser; try again.');
    },

    async isOptedOut(globalVisitId) {
      return (await conn.run((c) => c.hGet(k.optOut, globalVisitId))) === '1';
    },

    async closeAllPages(now) {
      const pageIds = await conn.run((c) => c.sMembers(k.open));
      let closed = 0;
      for (let start = 0; start < pageIds.length; start += READ_BATCH) {
        const results = await Promise.all(pageIds.slice(start, start + READ_BATCH).map((id) => closePage(id, now)));
        closed += results.filter(Boolean).length;
      }
      return closed;
    },

    async heartbeat(node, expiresAt) {
      const reply = await exec('heartbeat', [k.nodes, k.reaped], [node.nodeId, node.bootId, int(expiresAt)]);
      return reply[1] === 'reaped' ? 'reaped' : 'alive';
    },

    async expiredNodes(now, limit) {
      const members = await conn.run((c) =>
        c.zRangeByScore(k.nodes, '-inf', `(${int(now)}`, { LIMIT: { offset: 0, count: limit } }),
      );
      return members.map((member) => {
        const [nodeId, bootId] = splitLex(member) as [string, string];
        return { nodeId, bootId };
      });
    },

    async forgetNode(node, now) {
      const reply = await exec(
        'forgetNode',
        [k.nodes, k.reaped],
        [node.nodeId, node.bootId, int(now), int(now - REAPED_MEMORY_MS)],
      );
      return reply[1] === 1;
    },

    async pagesHeldBy(nodeId, exceptBootId, limit) {
      const node = lexPrefix(nodeId);
      if (exceptBootId === null) return heldPages([lexRange(node)], limit);
      const except = node + lexPrefix(exceptBootId);
      // The boots before the excepted one, then those after it (a boot's members all sort below `<its prefix>;`).
      return heldPages(
        [
          [`[${node}`, `(${except}`],
          [`[${except};`, `(${node};`],
        ],
        limit,
      );
    },

    async pagesOfBoot(node, limit) {
      return heldPages([lexRange(lexPrefix(node.nodeId) + lexPrefix(node.bootId))], limit);
    },

    async reapedBootsWithPages(since, limit, scan = REAPED_SCAN) {
      // Two round trips: the latest reaped boots, then (pipelined) whether each still holds an open page.
      const members = await conn.run((c) =>
        c.zRange(k.reaped, '+inf', int(since), { BY: 'SCORE', REV: true, LIMIT: { offset: 0, count: scan } }),
      );
      const firstPage = await conn.run((c) =>
        Promise.all(
          members.map((member) => c.zRangeByLex(k.held, ...lexRange(member), { LIMIT: { offset: 0, count: 1 } })),
        ),
      );
      return members
        .filter((_, i) => firstPage[i]!.length > 0)
        .slice(0, limit)
        .map((member) => {
          const [nodeId, bootId] = splitLex(member) as [string, string];
          return { nodeId, bootId };
        });
    },

    async counts() {
      const [liveVisits, openPages] = await conn.run((c) => Promise.all([c.zCard(k.live), c.sCard(k.openLive)]));
      return { liveVisits: Number(liveVisits), openPages: Number(openPages) };
    },

    // ── attempts ──

    async createAttempt(profile, options): Promise<CreateResult> {
      const { interactionId, visitId } = profile;
      const reply = await exec(
        'createAttempt',
        [
          k.seq,
          k.log,
          k.attempt(interactionId),
          k.visit(visitId),
          k.optOut,
          k.active,
          k.activeByBrowser,
          k.visitPages(visitId),
          k.deadlines,
          k.capBudget,
          k.capBudgetByAge,
          k.capDeclined,
          k.reportHour(options.now),
          k.created,
        ],
        [
          randomUUID(),
          interactionId,
          visitId,
          opt(profile.pageId),
          JSON.stringify(profile.channels),
          JSON.stringify(profile.invitation),
          String(profile.timeoutSeconds),
          String(profile.expirationSeconds),
          JSON.stringify(profile.userData),
          JSON.stringify(profile.extras),
          int(options.now),
          iso(options.now),
          int(options.now + profile.expirationSeconds * 1000),
          options.exclusive ? '1' : '0',
          options.place ? '1' : '0',
          ...capArgs(options.caps),
          reportExpireAt(options.now),
        ],
      );
      switch (reply[0]) {
        case 'created':
          recorded();
          return { kind: 'created', engagement: toEngagement(pairs(reply[1])) };
        case 'exists':
          return { kind: 'exists', engagement: toEngagement(pairs(reply[1])) };
        case 'no-visit':
          return { kind: 'no-visit' };
        case 'opted-out':
          return { kind: 'opted-out' };
        case 'capped':
          return { kind: 'capped', cap: reply[1] as CapName, retryAfter: Number(reply[2]) };
        case 'visit-busy': {
          // Only settled attempts are pruned: the one in the way (in progress) is there to read.
          const active = await getEngagement(String(reply[1]));
          if (active) return { kind: 'visit-busy', active };
          throw new Error(`createAttempt: attempt ${String(reply[1])} is indexed but missing`);
        }
        default:
          throw new Error(`createAttempt: unexpected reply ${JSON.stringify(reply[0])}`);
      }
    },

    async createTombstone(cancel, now) {
      const reply = await exec(
        'createTombstone',
        [k.seq, k.log, k.attempt(cancel.interactionId), k.created, k.settled],
        [randomUUID(), cancel.interactionId, opt(cancel.visitId), opt(cancel.reason), int(now), iso(now)],
      );
      const engagement = toEngagement(pairs(reply[1]));
      if (reply[0] === 'created') {
        recorded();
        return { kind: 'created', engagement };
      }
      return { kind: 'exists', engagement };
    },

    getEngagement,

    async activeEngagements(visitId) {
      const prefix = lexPrefix(visitId);
      const hashes = await conn.run(async (c) => {
        const members = await c.zRangeByLex(k.active, ...lexRange(prefix), { LIMIT: { offset: 0, count: MAX_ACTIVE } });
        return Promise.all(members.map((member) => c.hGetAll(k.attempt(member.slice(prefix.length + 37)))));
      });
      // Read after the index: one that settled in between is left out, as a snapshot would have.
      return (hashes as Fields[])
        .filter((h) => !isEmpty(h) && (h.state === 'pending' || h.state === 'delivered'))
        .map(toEngagement);
    },

    async transition(request) {
      // A first show counts on the path of the page it is shown on (kept on the page's hash): the page
      // the call names (the core always does), else where the attempt was placed, read first.
      let shownPage = request.pageId ?? null;
      if (request.to === 'delivered' && shownPage === null) {
        shownPage = (await conn.run((c) => c.hGet(k.attempt(request.interactionId), 'shownPageId'))) ?? null;
      }
      const reply = await exec(
        'transition',
        [
          k.seq,
          k.log,
          k.attempt(request.interactionId),
          k.active,
          k.activeByBrowser,
          k.deadlines,
          k.capBudget,
          k.capBudgetByAge,
          k.capDeclined,
          k.settled,
          k.reportHour(request.at),
          k.page(shownPage ?? ''),
        ],
        [
          randomUUID(),
          request.interactionId,
          `,${request.from.join(',')},`,
          request.to,
          int(request.at),
          iso(request.at),
          opt(request.visitId),
          opt(request.channel),
          opt(request.reason),
          request.timeoutAt === undefined ? '' : `=${int(request.timeoutAt)}`,
          opt(request.pageId),
          reportExpireAt(request.at),
        ],
      );
      if (reply[0] !== 'ok') return null;
      recorded();
      return toEngagement(pairs(reply[1]));
    },

    async browserBudgets(globalVisitIds, now) {
      const floor = String(Math.round(now - CAP_WINDOW_MS + 1)).padStart(15, '0');
      const read = await conn.run((c) =>
        Promise.all(
          globalVisitIds.map((id) => {
            const prefix = lexPrefix(id);
            return Promise.all([
              c.zRangeByLex(k.capBudget, `[${prefix}${floor}`, `(${prefix};`, {
                LIMIT: { offset: 0, count: MAX_ACTIVE },
              }),
              c.zScore(k.capDeclined, id),
            ]);
          }),
        ),
      );
      return new Map(
        globalVisitIds.map((id, i): [string, BrowserBudget] => {
          const [members, declined] = read[i]!;
          const prefix = Buffer.byteLength(lexPrefix(id));
          const counted = members
            .map((member) => {
              const rest = Buffer.from(member).toString('latin1', prefix);
              return { at: Number(rest.slice(0, 15)), shown: rest[16] === 's' };
            })
            .reverse();
          return [id, { counted, shown: counted.filter((e) => e.shown).length, lastDeclinedAt: declined ?? null }];
        }),
      );
    },

    async placeOn(interactionId, expected, pageId) {
      const reply = await exec('placeOn', [k.attempt(interactionId)], [opt(expected), opt(pageId)]);
      return reply[1] === 1;
    },

    async nextDeadline(visitIdleMs) {
      const [deadline, idle] = await conn.run((c) =>
        Promise.all([c.zRangeWithScores(k.deadlines, 0, 0), c.zRangeWithScores(k.idle, 0, 0)]),
      );
      const times = [deadline[0]?.score, idle[0] === undefined ? undefined : idle[0].score + visitIdleMs].filter(
        (t): t is number => typeof t === 'number',
      );
      return times.length ? Math.min(...times) : null;
    },

    async dueDeadlines(now, visitIdleMs): Promise<DueDeadline[]> {
      const [deadlines, idle] = await conn.run((c) =>
        Promise.all([
          c.zRangeByScore(k.deadlines, '-inf', now, { LIMIT: { offset: 0, count: DUE_BATCH } }),
          c.zRangeByScore(k.idle, '-inf', now - visitIdleMs, { LIMIT: { offset: 0, count: DUE_BATCH } }),
        ]),
      );
      const due: DueDeadline[] = [];
      for (const member of deadlines) {
        if (member.startsWith('expire:')) due.push({ kind: 'expire', interactionId: member.slice('expire:'.length) });
        else if (member.startsWith('timeout:'))
          due.push({ kind: 'timeout', interactionId: member.slice('timeout:'.length) });
      }
      for (const visitId of idle) due.push({ kind: 'end-visit', visitId });
      return due;
    },

    // ── event log ──

    onEvents(listener) {
      return listeners.add(listener);
    },

    async lastEventSeq() {
      const [top] = (await conn.run((c) => c.xRevRange(k.log, '+', '-', { COUNT: 1 }))) ?? [];
      return top ? seqOf(top.id) : 0;
    },

    async pruneEvents(before, limit) {
      const reply = await exec('pruneEvents', [k.log, k.whWaiting, k.whFailed], [int(before), String(limit)]);
      return Number(reply[1]);
    },

    async pruneVisits(before, limit) {
      if (limit <= 0) return 0;
      // Read the candidates, then one script checks each again and deletes (KEYS must be known up
      // front). Ended visits that must stay for now (an open page, an attempt in progress) are read
      // past in a further round, a few rounds at most, so that they never stall the retention.
      const until = `(${int(before)}`;
      let dropped = 0;
      let staying = 0;
      for (let round = 0; round < PRUNE_ROUNDS && dropped < limit; round++) {
        const left = limit - dropped;
        const [pageIds, visitIds] = await conn.run((c) =>
          Promise.all([
            c.zRangeByScore(k.closed, '-inf', until, { LIMIT: { offset: 0, count: left } }),
            c.zRangeByScore(k.ended, '-inf', until, { LIMIT: { offset: staying, count: left } }),
          ]),
        );
        if (pageIds.length === 0 && visitIds.length === 0) break;
        const reply = await exec(
          'pruneVisits',
          [
            k.closed,
            k.ended,
            k.active,
            k.live,
            k.idle,
            k.open,
            k.openLive,
            ...pageIds.map(k.page),
            ...visitIds.map(k.visit),
            ...visitIds.map(k.visitPages),
          ],
          [int(before), String(left), String(pageIds.length), String(visitIds.length), ...pageIds, ...visitIds],
        );
        for (const pageId of pageIds) pageVisits.delete(pageId);
        dropped += Number(reply[1]);
        staying += Number(reply[2]);
        if (visitIds.length < left) break; // every candidate visit was looked at
      }
      return dropped;
    },

    async pruneAttempts(before, limit) {
      if (limit <= 0) return 0;
      // Read the candidates (oldest settled first), then one script checks each again and deletes
      // (KEYS must be known up front). An index entry whose attempt is gone is dropped uncounted, so
      // a further round (a few at most) reads past such entries rather than stopping short.
      let dropped = 0;
      for (let round = 0; round < PRUNE_ROUNDS && dropped < limit; round++) {
        const left = limit - dropped;
        const ids = await conn.run((c) =>
          c.zRangeByScore(k.settled, '-inf', `(${int(before)}`, { LIMIT: { offset: 0, count: left } }),
        );
        if (ids.length === 0) break;
        const reply = await exec(
          'pruneAttempts',
          [k.settled, k.created, k.deadlines, k.capBudget, k.capBudgetByAge, ...ids.map(k.attempt)],
          [int(before), String(ids.length), ...ids],
        );
        dropped += Number(reply[1]);
        if (ids.length < left) break; // every candidate was looked at
      }
      return dropped;
    },

    async eventsAfter(afterSeq, filter, limit) {
      const out: BeckonEvent[] = [];
      if (limit <= 0) return out;
      const filtered = filter.types !== null || filter.visitId !== null;
      const batch = filtered ? Math.max(limit, LOG_BATCH) : limit;
      let from = afterSeq;
      for (;;) {
        const entries = (await conn.run((c) => c.xRange(k.log, `(${from}-0`, '+', { COUNT: batch }))) ?? [];
        for (const entry of entries) {
          const event = toEvent(seqOf(entry.id), entry.message as Fields);
          if (filter.types !== null && !filter.types.includes(event.type)) continue;
          if (filter.visitId !== null && event.visitId !== filter.visitId) continue;
          out.push(event);
          if (out.length === limit) return out;
        }
        if (entries.length < batch) return out;
        from = seqOf(entries[entries.length - 1]!.id);
      }
    },

    // ── webhook outbox ──

    async queueWebhookEvents({ types, now, maxAgeMs, limit }) {
      const reply = await exec(
        'queueWebhookEvents',
        [k.log, k.whCursor, k.whQueue, k.whReady, k.whWaiting],
        [int(now), int(now - maxAgeMs), String(limit), types === null ? '' : `,${types.join(',')},`],
      );
      return Number(reply[1]);
    },

    async claimWebhookDeliveries(now, leaseUntil, limit) {
      const reply = await exec(
        'claimWebhookDeliveries',
        [k.log, k.whQueue, k.whReady, k.whWaiting],
        [int(now), int(leaseUntil), String(limit)],
      );
      const deliveries: WebhookDelivery[] = reply.slice(1).map((item) => {
        const [seq, attempts, fields] = item as [string, string, string[]];
        return { event: toEvent(Number(seq), pairs(fields)), attempts: Number(attempts) };
      });
      return deliveries.sort((a, b) => a.event.seq - b.event.seq);
    },

    async webhookDelivered(seq) {
      await exec('webhookDelivered', [k.whQueue, k.whReady, k.whWaiting], [String(seq)]);
    },

    async webhookAttemptFailed(seq, attempts, retryAt, error) {
      await exec(
        'webhookAttemptFailed',
        [k.whQueue, k.whReady, k.whWaiting, k.whFailed],
        [String(seq), String(attempts), retryAt === null ? '' : `=${int(retryAt)}`, error.slice(0, 500)],
      );
    },

    async nextWebhookAt() {
      const [first] = await conn.run((c) => c.zRangeWithScores(k.whReady, 0, 0));
      return first === undefined ? null : first.score;
    },

    async webhookBacklog() {
      const [waiting, failed] = await conn.run((c) => Promise.all([c.hLen(k.whWaiting), c.hLen(k.whFailed)]));
      return { waiting: Number(waiting), failed: Number(failed) };
    },

    // ── reports and export ──

    async reportHours(fromHour, toHour) {
      const hours: number[] = [];
      for (let hour = hourOf(fromHour); hour < toHour; hour += HOUR_MS) if (hour >= fromHour) hours.push(hour);
      const out: ReportHour[] = [];
      for (let start = 0; start < hours.length; start += DUE_BATCH) {
        const batch = hours.slice(start, start + DUE_BATCH);
        const hashes = await conn.run((c) => Promise.all(batch.map((hour) => c.hGetAll(k.reportHour(hour)))));
        batch.forEach((hour, i) => {
          const h = hashes[i] as Fields;
          if (isEmpty(h)) return;
          const counts: Record<string, number> = {};
          for (const [name, n] of Object.entries(h)) if (!name.startsWith('n:')) counts[name] = Number(n);
          out.push({ hour, counts });
        });
      }
      return out;
    },

    async pruneReports() {
      return 0; // each hour's hash expires on its own (EXPIREAT)
    },

    async engagementsCreated({ from, to, after, limit }) {
      const min =
        after !== null && after.createdAt >= from
          ? `(${createdMember(after.createdAt, after.interactionId)}`
          : `[${createdMember(from, '')}`;
      const max = `(${createdMember(to, '')}`;
      const hashes = await conn.run(async (c) => {
        const members = await c.zRangeByLex(k.created, min, max, { LIMIT: { offset: 0, count: limit } });
        return Promise.all(members.map((member) => c.hGetAll(k.attempt(member.slice(member.indexOf(':') + 1)))));
      });
      return (hashes as Fields[]).filter((h) => !isEmpty(h)).map(toEngagement);
    },

    // ── the store itself ──

    ping: () => conn.ping(),
    health: () => conn.health(),
    durabilityWarnings: () => conn.run((c) => durabilityWarnings(c)),
    close: () => conn.close(),
  };
  return store;
}
