/**
 * The SQLite store's presence: visits, their pages and browsers' opt-outs
 * (the `PresenceStore` part, without the boots that hold pages: nodes.ts).
 * A page's close makes its visit idle when it was the last one open, and its
 * open makes the visit live again, in the transaction that records the page's
 * event. Opting out also declines attempts, so `setOptOut` is composed in
 * attempts.ts from `recordOptOut` here.
 */
import type { PageInfo, PageUpdate } from '../../protocol/index.js';
import { pageEvent, visitEvent } from '../../core/events.js';
import { chooseTarget } from '../../core/placement.js';
import type {
  EnteredPage,
  LeftPage,
  LiveVisit,
  NodeRef,
  PageRecord,
  PresenceStore,
  VisitPlacement,
} from '../../core/store.js';
import type { SqliteContext } from './context.js';
import {
  ACTIVE_STATES,
  toEngagement,
  toPage,
  toVisit,
  type EngagementRow,
  type PageRow,
  type VisitRow,
} from './rows.js';

/** The presence methods this module answers; nodes.ts and attempts.ts answer the rest. */
export type PresenceMethods = Omit<
  PresenceStore,
  | 'setOptOut'
  | 'heartbeat'
  | 'expiredNodes'
  | 'forgetNode'
  | 'pagesHeldBy'
  | 'pagesOfBoot'
  | 'pageHolders'
  | 'reapedBootsWithPages'
>;

export interface SqlitePresence {
  methods: PresenceMethods;
  /** A visit as stored, or undefined (read inside the caller's transaction). */
  visit(visitId: string): VisitRow | undefined;
  /** Whether the browser opted out of invitations. */
  optedOut(globalVisitId: string): boolean;
  /** A visit's open pages in attention order. */
  openPages(visitId: string): PageRow[];
  /** Records a browser's choice, inside the caller's transaction. */
  recordOptOut(globalVisitId: string, optedOut: boolean, now: number): void;
}

export function sqlitePresence({ db, write, recordEvent }: SqliteContext): SqlitePresence {
  const stmt = {
    insertVisit: db.prepare(
      `INSERT INTO visits (visit_id, global_visit_id, started_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    getVisit: db.prepare<[string], VisitRow>(`SELECT * FROM visits WHERE visit_id = ?`),
    upsertPage: db.prepare(
      `INSERT INTO pages (page_id, visit_id, url, title, visible, focused, locale, connected_at, active_at, closed_at, node_id, boot_id)
       VALUES (@pageId, @visitId, @url, @title, @visible, @focused, @locale, @now, @now, NULL, @nodeId, @bootId)
       ON CONFLICT (page_id) DO UPDATE SET url = excluded.url, title = excluded.title, visible = excluded.visible,
         focused = excluded.focused, locale = excluded.locale, closed_at = NULL,
         node_id = excluded.node_id, boot_id = excluded.boot_id,
         connected_at = CASE WHEN pages.closed_at IS NULL THEN pages.connected_at ELSE excluded.connected_at END,
         active_at = CASE WHEN excluded.visible = 1 THEN excluded.active_at ELSE pages.active_at END
       WHERE pages.visit_id = excluded.visit_id`,
    ),
    getPage: db.prepare<[string], PageRow>(`SELECT * FROM pages WHERE page_id = ?`),
    openPages: db.prepare<[string], PageRow>(
      // The page the visitor is looking at first, then the one they looked at last.
      `SELECT * FROM pages WHERE visit_id = ? AND closed_at IS NULL
       ORDER BY (visible AND focused) DESC, visible DESC, active_at DESC, connected_at DESC`,
    ),
    countOpenPages: db.prepare<[string], { n: number }>(
      `SELECT count(*) AS n FROM pages WHERE visit_id = ? AND closed_at IS NULL`,
    ),
    updatePage: db.prepare(
      `UPDATE pages SET url = ?, title = ?, visible = ?, focused = ?, locale = ?, active_at = ? WHERE page_id = ?`,
    ),
    closePage: db.prepare<{ now: number; pageId: string; nodeId: string | null; bootId: string | null }>(
      `UPDATE pages SET closed_at = @now WHERE page_id = @pageId AND closed_at IS NULL
         AND (@nodeId IS NULL OR (node_id = @nodeId AND boot_id = @bootId))`,
    ),
    // Retention (pruneVisits): closed pages oldest first, then ended visits with no page left
    // and no attempt in progress. `closed_at IS NOT NULL` lets the partial indexes serve.
    pruneClosedPages: db.prepare<{ before: number; limit: number }>(
      `DELETE FROM pages WHERE page_id IN (
         SELECT page_id FROM pages WHERE closed_at IS NOT NULL AND closed_at < @before
         ORDER BY closed_at, page_id LIMIT @limit)`,
    ),
    prunableVisits: db
      .prepare<{ before: number; limit: number }, string>(
        `SELECT visit_id FROM visits AS v WHERE ended_at IS NOT NULL AND ended_at < @before
           AND NOT EXISTS (SELECT 1 FROM pages WHERE pages.visit_id = v.visit_id)
           AND NOT EXISTS (SELECT 1 FROM engagements AS e WHERE e.visit_id = v.visit_id AND e.state IN ${ACTIVE_STATES})
         ORDER BY ended_at, visit_id LIMIT @limit`,
      )
      .pluck(),
    // A pruned visit's identity goes with its row; its business events go with it.
    dropBusinessEvents: db.prepare(`DELETE FROM business_events WHERE visit_id = ?`),
    dropVisit: db.prepare(`DELETE FROM visits WHERE visit_id = ?`),
    setIdle: db.prepare(`UPDATE visits SET idle_since = ? WHERE visit_id = ? AND ended_at IS NULL`),
    clearIdle: db.prepare(`UPDATE visits SET idle_since = NULL WHERE visit_id = ?`),
    endVisit: db.prepare(`UPDATE visits SET ended_at = ?, idle_since = NULL WHERE visit_id = ? AND ended_at IS NULL`),
    liveVisits: db.prepare<[], VisitRow>(`SELECT * FROM visits WHERE ended_at IS NULL ORDER BY started_at DESC`),
    allOpenPages: db.prepare<[], PageRow>(
      `SELECT pages.* FROM pages JOIN visits USING (visit_id)
       WHERE pages.closed_at IS NULL AND visits.ended_at IS NULL ORDER BY active_at DESC`,
    ),
    openPageIds: db.prepare<[], PageRow>(`SELECT * FROM pages WHERE closed_at IS NULL`),
    activeByVisitAll: db.prepare<[], { visit_id: string; interaction_id: string }>(
      `SELECT visit_id, interaction_id FROM engagements WHERE state IN ${ACTIVE_STATES} ORDER BY created_at`,
    ),
    setOptOut: db.prepare(
      `INSERT INTO browsers (global_visit_id, opted_out, changed_at) VALUES (?, ?, ?)
       ON CONFLICT (global_visit_id) DO UPDATE SET opted_out = excluded.opted_out, changed_at = excluded.changed_at`,
    ),
    isOptedOut: db.prepare<[string], { opted_out: number }>(`SELECT opted_out FROM browsers WHERE global_visit_id = ?`),
    // A page view's placement (enterPage, leavePage): the visit's oldest attempt in progress, and its move.
    firstActive: db.prepare<[string], EngagementRow>(
      `SELECT * FROM engagements WHERE visit_id = ? AND state IN ${ACTIVE_STATES} ORDER BY created_at, rowid LIMIT 1`,
    ),
    placeShown: db.prepare(`UPDATE engagements SET shown_page_id = ? WHERE interaction_id = ?`),
    counts: db.prepare<[], { liveVisits: number; openPages: number }>(
      `SELECT (SELECT count(*) FROM visits WHERE ended_at IS NULL) AS liveVisits,
              (SELECT count(*) FROM pages JOIN visits USING (visit_id)
                WHERE pages.closed_at IS NULL AND visits.ended_at IS NULL) AS openPages`,
    ),
  };

  const startVisit = db.transaction((visitId: string, globalVisitId: string, now: number) => {
    if (stmt.insertVisit.run(visitId, globalVisitId, now).changes === 1)
      recordEvent(visitEvent('visit.started', visitId, now));
  });

  const openPage = db.transaction(
    (pageId: string, visitId: string, info: PageInfo, node: NodeRef | undefined, now: number) => {
      const before = stmt.getPage.get(pageId);
      const changed = stmt.upsertPage.run({
        pageId,
        visitId,
        url: info.url,
        title: info.title,
        visible: info.visible ? 1 : 0,
        focused: info.focused ? 1 : 0,
        locale: info.locale ?? null,
        now,
        nodeId: node?.nodeId ?? null,
        bootId: node?.bootId ?? null,
      }).changes;
      if (changed === 0) return false; // the page id belongs to another visit: refuse silently
      stmt.clearIdle.run(visitId);
      if (!before || before.closed_at !== null) recordEvent(pageEvent('page.entered', visitId, pageId, now));
      return true;
    },
  );

  const closePage = db.transaction((pageId: string, now: number, heldBy?: NodeRef): boolean => {
    const guard = { nodeId: heldBy?.nodeId ?? null, bootId: heldBy?.bootId ?? null };
    if (stmt.closePage.run({ now, pageId, ...guard }).changes === 0) return false;
    const page = stmt.getPage.get(pageId)!;
    recordEvent(pageEvent('page.left', page.visit_id, pageId, now));
    if (stmt.countOpenPages.get(page.visit_id)!.n === 0) stmt.setIdle.run(now, page.visit_id);
    return true;
  });

  const endVisit = db.transaction((visitId: string, now: number): boolean => {
    if (stmt.endVisit.run(now, visitId).changes === 0) return false;
    recordEvent(visitEvent('visit.ended', visitId, now));
    return true;
  });

  /** The visit's invitation placed by the rule of core/placement.ts, inside the caller's transaction. */
  const placeVisitAttempt = (visitId: string): VisitPlacement => {
    const row = stmt.firstActive.get(visitId);
    if (!row) return { attempt: null };
    const attempt = toEngagement(row);
    const target = chooseTarget(attempt, stmt.openPages.all(visitId).map(toPage));
    if (target === null || target === attempt.shownPageId) return { attempt };
    stmt.placeShown.run(target, attempt.interactionId);
    return { attempt: { ...attempt, shownPageId: target }, movedFrom: attempt.shownPageId };
  };

  const enterPage = db.transaction((entry: Parameters<PresenceStore['enterPage']>[0], now: number): EnteredPage => {
    const { visitId, pageId } = entry;
    let visit = stmt.getVisit.get(visitId);
    const started = !visit;
    if (!visit) {
      if (!entry.start) return { kind: 'not-live' };
      startVisit(visitId, entry.start.globalVisitId, now);
      visit = stmt.getVisit.get(visitId)!;
    } else if (visit.ended_at !== null) {
      return { kind: 'not-live' };
    } else if (visit.idle_since !== null && now - visit.idle_since >= entry.visitIdleMs) {
      endVisit(visitId, now);
      return { kind: 'not-live' };
    }
    const opened = openPage(pageId, visitId, entry.info, entry.node, now);
    return {
      kind: 'entered',
      globalVisitId: visit.global_visit_id,
      started,
      opened,
      optedOut: optedOut(visit.global_visit_id),
      // A visit started here has no attempt yet.
      ...(started ? { attempt: null } : placeVisitAttempt(visitId)),
    };
  });

  const leavePage = db.transaction(
    (page: { pageId: string; visitId: string }, now: number, heldBy?: NodeRef): LeftPage => {
      const row = stmt.getPage.get(page.pageId);
      if (!row || row.visit_id !== page.visitId || !closePage(page.pageId, now, heldBy)) return { closed: false };
      const placement = placeVisitAttempt(page.visitId);
      if (!placement.attempt || placement.movedFrom === undefined) return { closed: true, moved: null };
      return { closed: true, moved: { attempt: placement.attempt, from: placement.movedFrom } };
    },
  );

  const closeAllPages = db.transaction((now: number): number => {
    let closed = 0;
    for (const page of stmt.openPageIds.all()) if (closePage(page.page_id, now)) closed++;
    return closed;
  });

  const updatePage = db.transaction((pageId: string, update: PageUpdate, now: number) => {
    const page = stmt.getPage.get(pageId);
    if (!page || page.closed_at !== null) return;
    const next = {
      url: update.url ?? page.url,
      title: update.title ?? page.title,
      visible: update.visible ?? page.visible === 1,
      focused: update.focused ?? page.focused === 1,
      locale: update.locale ?? page.locale,
    };
    stmt.updatePage.run(
      next.url,
      next.title,
      next.visible ? 1 : 0,
      next.focused ? 1 : 0,
      next.locale,
      next.visible && next.focused ? now : page.active_at,
      pageId,
    );
  });

  /** One bounded batch of presence retention: pages first, so that a visit whose last pages go now goes too. */
  const pruneVisits = db.transaction((before: number, limit: number): number => {
    const pages = stmt.pruneClosedPages.run({ before, limit }).changes;
    if (pages >= limit) return pages;
    const visits = stmt.prunableVisits.all({ before, limit: limit - pages });
    for (const visitId of visits) {
      stmt.dropBusinessEvents.run(visitId);
      stmt.dropVisit.run(visitId);
    }
    return pages + visits.length;
  });

  const optedOut = (globalVisitId: string) => stmt.isOptedOut.get(globalVisitId)?.opted_out === 1;

  return {
    visit: (visitId) => stmt.getVisit.get(visitId),
    optedOut,
    openPages: (visitId) => stmt.openPages.all(visitId),
    recordOptOut(globalVisitId, optedOut, now) {
      stmt.setOptOut.run(globalVisitId, optedOut ? 1 : 0, now);
    },
    methods: {
      async startVisit(visit, now) {
        await write(() => startVisit(visit.visitId, visit.globalVisitId, now));
      },
      async getVisit(visitId) {
        const row = stmt.getVisit.get(visitId);
        return row ? toVisit(row) : null;
      },
      async openPage(page, now) {
        await write(() => openPage(page.pageId, page.visitId, page.info, page.node, now));
      },
      async updatePage(pageId, update, now) {
        await write(() => updatePage(pageId, update, now));
      },
      async closePage(pageId, now, heldBy) {
        return write(() => closePage(pageId, now, heldBy));
      },
      async enterPage(entry, now) {
        return write(() => enterPage(entry, now));
      },
      async leavePage(page, now, heldBy) {
        return write(() => leavePage(page, now, heldBy));
      },
      async getPage(pageId) {
        const row = stmt.getPage.get(pageId);
        return row ? toPage(row) : null;
      },
      async openPages(visitId) {
        return stmt.openPages.all(visitId).map(toPage);
      },
      async liveVisits(): Promise<LiveVisit[]> {
        const pagesByVisit = new Map<string, PageRecord[]>();
        for (const row of stmt.allOpenPages.all()) {
          const list = pagesByVisit.get(row.visit_id) ?? [];
          list.push(toPage(row));
          pagesByVisit.set(row.visit_id, list);
        }
        const activeByVisit = new Map<string, string>();
        for (const row of stmt.activeByVisitAll.all()) {
          if (!activeByVisit.has(row.visit_id)) activeByVisit.set(row.visit_id, row.interaction_id);
        }
        return stmt.liveVisits.all().map((row) => ({
          ...toVisit(row),
          pages: pagesByVisit.get(row.visit_id) ?? [],
          activeInteractionId: activeByVisit.get(row.visit_id) ?? null,
        }));
      },
      async endVisit(visitId, now) {
        return write(() => endVisit(visitId, now));
      },
      async isOptedOut(globalVisitId) {
        return optedOut(globalVisitId);
      },
      async closeAllPages(now) {
        return write(() => closeAllPages(now));
      },
      async pruneVisits(before, limit) {
        if (limit <= 0) return 0;
        return write(() => pruneVisits(before, limit));
      },
      async counts() {
        return stmt.counts.get()!;
      },
    },
  };
}
