/**
 * Visits, their pages, the nodes holding the pages' sockets, and browsers'
 * opt-outs on Redis (PresenceStore in core/store.ts). Each change is one
 * script: startVisit.lua, openPage.lua, updatePage.lua, closePage.lua,
 * endVisit.lua, setOptOut.lua, heartbeat.lua, forgetNode.lua, pruneVisits.lua.
 *
 * A page's visit never changes, so updatePage and closePage (which name only
 * the page) look it up first (remembered in this process) and the script
 * checks it. setOptOut reads the browser's attempts in progress first; the
 * script refuses (and the store reads again) if another one started meanwhile.
 */
import { randomUUID } from 'node:crypto';
import {
  REAPED_MEMORY_MS,
  REAPED_SCAN,
  type HeldPage,
  type LiveVisit,
  type NodeRef,
  type PresenceStore,
} from '../../core/store.js';
import { reportPath } from '../../core/reports.js';
import type { StoreContext } from './context.js';
import {
  attentionOrder,
  int,
  isEmpty,
  iso,
  lexPrefix,
  lexRange,
  nullable,
  pairs,
  splitLex,
  toEngagement,
  toPage,
  toVisit,
  type Fields,
} from './records.js';
import { reportArguments } from './reports.js';
import { settlePacingArguments } from './channels.js';
import { ATTEMPT_INDEX_TAG } from './keys.js';

/** Attempts of one browser read at most, visits and pages per batch, pages remembered. */
const MAX_ACTIVE = 10_000;
const READ_BATCH = 200;
const PAGE_CACHE = 100_000;
/** Reads of candidates per pruneVisits call (each past the visits that had to stay). */
const PRUNE_ROUNDS = 10;

export function presenceStore(context: StoreContext): PresenceStore {
  const { conn, keys: k, exec, recorded } = context;

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

  /** The keys of a page and its visit that opening, entering and closing a page all touch. */
  function pageKeys(pageId: string, visitId: string) {
    return {
      seqKey: k.seq,
      logKey: k.log,
      pageKey: k.page(pageId),
      visitKey: k.visit(visitId),
      visitPagesKey: k.visitPages(visitId),
      openKey: k.open,
      openLiveKey: k.openLive,
      idleKey: k.idle,
      heldKey: k.held,
      closedKey: k.closed,
    };
  }

  /** The keys the close of an open page touches (includes/pages.lua), for closePage and leavePage alike. */
  function closeKeys(pageId: string, visitId: string) {
    return { ...pageKeys(pageId, visitId), endedKey: k.ended };
  }

  /** What the close of an open page is told, for closePage and leavePage alike. */
  function closeArgs(pageId: string, visitId: string, now: number, heldBy: NodeRef | undefined) {
    return {
      eventId: randomUUID(),
      pageId,
      visitId,
      now: int(now),
      heldByNodeId: nullable(heldBy?.nodeId),
      heldByBootId: nullable(heldBy?.bootId),
    };
  }

  async function closePage(pageId: string, now: number, heldBy?: NodeRef): Promise<boolean> {
    return withPageVisit(
      pageId,
      async (visitId) => {
        const reply = await exec('closePage', closeKeys(pageId, visitId), closeArgs(pageId, visitId, now, heldBy));
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

  const attemptKeyPrefix = k.attempt('');
  /** A placement's reply: '-' (did not move), '' (moved from no page) or '=' + the page it moved from. */
  const movedFrom = (moved: unknown) => (moved === '-' ? undefined : moved === '' ? null : String(moved).slice(1));
  const attemptOf = (flat: unknown) => {
    const h = pairs(flat);
    return isEmpty(h) ? null : toEngagement(h);
  };

  return {
    async startVisit(visit, now) {
      const reply = await exec(
        'startVisit',
        {
          seqKey: k.seq,
          logKey: k.log,
          visitKey: k.visit(visit.visitId),
          liveKey: k.live,
          visitsByBrowserKey: k.visitsByBrowser,
        },
        { eventId: randomUUID(), visitId: visit.visitId, globalVisitId: visit.globalVisitId, now: int(now) },
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
        { ...pageKeys(pageId, visitId), pagesByVisitKey: k.pagesByVisit },
        {
          eventId: randomUUID(),
          pageId,
          visitId,
          url: info.url,
          title: info.title,
          visible: info.visible ? '1' : '0',
          focused: info.focused ? '1' : '0',
          locale: nullable(info.locale),
          now: int(now),
          nodeId: nullable(node?.nodeId),
          bootId: nullable(node?.bootId),
          path: reportPath(info.url),
        },
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
            { pageKey: k.page(pageId), visitPagesKey: k.visitPages(visitId) },
            {
              pageId,
              visitId,
              url: nullable(update.url),
              title: nullable(update.title),
              visible: bool(update.visible),
              focused: bool(update.focused),
              locale: nullable(update.locale),
              now: int(now),
              path: update.url === undefined ? '' : `=${reportPath(update.url)}`,
            },
          );
          // 0: closed or unknown, which a fresh look-up of the visit would not change unless it was wrong.
          return reply[1] === 1 ? true : null;
        },
        false,
      );
    },

    closePage,

    async enterPage({ visitId, start, pageId, info, node, visitIdleMs }, now) {
      const reply = await exec(
        'enterPage',
        {
          ...pageKeys(pageId, visitId),
          liveKey: k.live,
          endedKey: k.ended,
          visitsByBrowserKey: k.visitsByBrowser,
          pagesByVisitKey: k.pagesByVisit,
          optOutKey: k.optOut,
          attemptIndexKey: k.attemptIndex,
        },
        {
          startEventId: randomUUID(),
          pageEventId: randomUUID(),
          endEventId: randomUUID(),
          visitId,
          startFor: nullable(start?.globalVisitId),
          pageId,
          url: info.url,
          title: info.title,
          visible: info.visible ? '1' : '0',
          focused: info.focused ? '1' : '0',
          locale: nullable(info.locale),
          now: int(now),
          nodeId: nullable(node?.nodeId),
          bootId: nullable(node?.bootId),
          path: reportPath(info.url),
          visitIdleMs: int(visitIdleMs),
          attemptKeyPrefix,
        },
      );
      if (reply[0] === 'not-live') {
        if (reply[1] === 1) recorded();
        return { kind: 'not-live' };
      }
      const [, globalVisitId, started, opened, optedOut, moved, attempt] = reply;
      if (opened !== 0) rememberPage(pageId, visitId);
      if (started === 1 || opened === 2) recorded();
      const from = movedFrom(moved);
      return {
        kind: 'entered',
        globalVisitId: String(globalVisitId),
        started: started === 1,
        opened: opened !== 0,
        optedOut: optedOut === 1,
        attempt: attemptOf(attempt),
        ...(from !== undefined ? { movedFrom: from } : {}),
      };
    },

    async leavePage({ pageId, visitId }, now, heldBy) {
      const reply = await exec(
        'leavePage',
        { ...closeKeys(pageId, visitId), attemptIndexKey: k.attemptIndex },
        { ...closeArgs(pageId, visitId, now, heldBy), attemptKeyPrefix },
      );
      if (reply[0] !== 'closed') return { closed: false };
      recorded();
      const from = movedFrom(reply[1]);
      const attempt = attemptOf(reply[2]);
      return { closed: true, moved: from !== undefined && attempt ? { attempt, from } : null };
    },

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
                c.zRangeByLex(k.attemptIndex, ...lexRange(ATTEMPT_INDEX_TAG.active + lexPrefix(visitId)), {
                  LIMIT: { offset: 0, count: 1 },
                }),
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
          const prefix = ATTEMPT_INDEX_TAG.active + lexPrefix(row.visitId);
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
        {
          seqKey: k.seq,
          logKey: k.log,
          visitKey: k.visit(visitId),
          liveKey: k.live,
          idleKey: k.idle,
          visitPagesKey: k.visitPages(visitId),
          openLiveKey: k.openLive,
          endedKey: k.ended,
        },
        { eventId: randomUUID(), visitId, now: int(now) },
      );
      if (reply[1] !== 1) return false;
      recorded();
      return true;
    },

    async setOptOut(globalVisitId, optedOut, now) {
      const report = reportArguments(context, now, optedOut);
      const keys = {
        seqKey: k.seq,
        logKey: k.log,
        optOutKey: k.optOut,
        attemptIndexKey: k.attemptIndex,
        deadlinesKey: k.deadlines,
        settledKey: k.settled,
        ...report.key,
        channelLoadKey: k.channelLoad,
      };
      const args = (count: number) => ({
        globalVisitId,
        optedOut: optedOut ? '1' : '0',
        now: int(now),
        nowIso: iso(now),
        count: String(count),
        ...report.args,
        ...settlePacingArguments(),
      });
      if (!optedOut) {
        await exec('setOptOut', keys, args(0));
        return [];
      }
      const prefix = ATTEMPT_INDEX_TAG.activeByBrowser + lexPrefix(globalVisitId);
      for (let round = 0; round < 5; round++) {
        const members = await conn.run((c) =>
          c.zRangeByLex(k.attemptIndex, ...lexRange(prefix), { LIMIT: { offset: 0, count: MAX_ACTIVE } }),
        );
        // '<tag><browser prefix><seq, 20 digits>:<id>'
        const ids = members.map((member) => member.slice(prefix.length + 21));
        const reply = await exec('setOptOut', keys, args(ids.length), {
          keys: ids.map(k.attempt),
          args: [...ids, ...ids.map(() => randomUUID())],
        });
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
      const reply = await exec(
        'heartbeat',
        { nodesKey: k.nodes, reapedKey: k.reaped },
        { nodeId: node.nodeId, bootId: node.bootId, expiresAt: int(expiresAt) },
      );
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
        { nodesKey: k.nodes, reapedKey: k.reaped },
        { nodeId: node.nodeId, bootId: node.bootId, now: int(now), forgetReapedBefore: int(now - REAPED_MEMORY_MS) },
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

    async pageHolders(target) {
      if ('pageId' in target) {
        const nodeId = await conn.run((c) => c.hGet(k.page(target.pageId), 'nodeId'));
        return nodeId ? [nodeId] : [];
      }
      // Two round trips, both reads: the visit's open pages, then (pipelined) the node of each.
      const pageIds = await conn.run((c) => c.hKeys(k.visitPages(target.visitId)));
      if (pageIds.length === 0) return [];
      const nodeIds = await conn.run((c) => Promise.all(pageIds.map((pageId) => c.hGet(k.page(pageId), 'nodeId'))));
      return [...new Set(nodeIds.filter((nodeId): nodeId is string => typeof nodeId === 'string'))].sort();
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
          {
            closedKey: k.closed,
            endedKey: k.ended,
            attemptIndexKey: k.attemptIndex,
            liveKey: k.live,
            idleKey: k.idle,
            openKey: k.open,
            openLiveKey: k.openLive,
            pagesByVisitKey: k.pagesByVisit,
            visitsByBrowserKey: k.visitsByBrowser,
          },
          {
            before: int(before),
            limit: String(left),
            pageCount: String(pageIds.length),
            visitCount: String(visitIds.length),
          },
          {
            keys: [
              ...pageIds.map(k.page),
              ...visitIds.map(k.visit),
              ...visitIds.map(k.visitPages),
              ...visitIds.map(k.visitIdentity),
              ...visitIds.map(k.visitEvents),
            ],
            args: [...pageIds, ...visitIds],
          },
        );
        for (const pageId of pageIds) pageVisits.delete(pageId);
        dropped += Number(reply[1]);
        staying += Number(reply[2]);
        if (visitIds.length < left) break; // every candidate visit was looked at
      }
      return dropped;
    },

    async counts() {
      const [liveVisits, openPages] = await conn.run((c) => Promise.all([c.zCard(k.live), c.sCard(k.openLive)]));
      return { liveVisits: Number(liveVisits), openPages: Number(openPages) };
    },
  };
}
