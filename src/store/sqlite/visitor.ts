/**
 * The SQLite store's visitor context (docs/visitor-context.md): the business
 * events each visit keeps (its latest KEPT_BUSINESS_EVENTS, table
 * `business_events`), its identity (columns of `visits`), what callers read
 * back, and the erasure of a browser. Each change is one transaction with
 * its event, through the group commit like every other write.
 *
 * An erasure is one transaction: the browser's visits, their pages, identity
 * and business events, its attempts (found by the browser even after
 * retention pruned their visit), their pacing counts and report rows, its
 * caps budget and declines, its opt-out, and every event of its visits with
 * their webhook deliveries. The connection runs with `secure_delete` (store.ts)
 * so that deleted rows are overwritten, not merely unlinked, and the erasure
 * ends with a TRUNCATE checkpoint so that the WAL no longer holds the old
 * pages either (docs/decisions.md, "Visitor context").
 */
import type { ContextData, ErasureCounts } from '../../protocol/visitor.js';
import { KEPT_BUSINESS_EVENTS } from '../../protocol/visitor.js';
import { businessEventOf, erasureEventOf, identityEventOf } from '../../core/events.js';
import type {
  BusinessEventRecord,
  IdentityChange,
  IdentityRecord,
  VisitHistoryRecord,
  VisitorStore,
  VisitPosition,
} from '../../core/store.js';
import type { SqliteChannels } from './channels.js';
import type { SqliteContext } from './context.js';
import { toEngagement, toPage, toVisit, type EngagementRow, type PageRow, type VisitRow } from './rows.js';

interface IdentityColumns {
  user_id: string | null;
  verified: number | null;
  traits: string | null;
  identified_at: number | null;
}

type VisitWithIdentity = VisitRow & IdentityColumns;

interface BusinessEventRow {
  visit_id: string;
  page_id: string;
  name: string;
  data: string;
  at: number;
}

/** How long the checkpoint after an erasure waits for another process's reader or writer. */
const CHECKPOINT_WAIT_MS = 200;

/** Expired erasure markers dropped per erasure: bounded, and more than erasures make. */
const MARKER_PRUNE_BATCH = 100;

const identityOf = (row: IdentityColumns): IdentityRecord | null =>
  row.identified_at === null
    ? null
    : {
        userId: row.user_id,
        verified: row.verified === 1,
        traits: JSON.parse(row.traits ?? '{}') as ContextData,
        at: row.identified_at,
      };

const toBusinessEvent = (row: BusinessEventRow): BusinessEventRecord => ({
  name: row.name,
  data: JSON.parse(row.data) as ContextData,
  at: row.at,
  pageId: row.page_id,
});

/** The identity as it is after `change`; undefined when the change changes nothing (a sign-out with none). */
function changed(
  current: IdentityRecord | null,
  change: IdentityChange,
  now: number,
): IdentityRecord | null | undefined {
  switch (change.kind) {
    case 'sign-in':
      return { userId: change.userId, verified: change.verified, traits: change.traits, at: now };
    case 'user-info':
      return current
        ? { ...current, traits: { ...current.traits, ...change.traits }, at: now }
        : { userId: null, verified: false, traits: change.traits, at: now };
    case 'sign-out':
      return current ? null : undefined;
  }
}

export function sqliteVisitor(
  { db, write, recordEvent, truncateWal }: SqliteContext,
  deps: { channels: Pick<SqliteChannels, 'forget'> },
): VisitorStore {
  const stmt = {
    visit: db.prepare<[string], VisitWithIdentity>(`SELECT * FROM visits WHERE visit_id = ?`),
    page: db.prepare<[string], PageRow>(`SELECT * FROM pages WHERE page_id = ?`),
    insertEvent: db.prepare(
      `INSERT INTO business_events (visit_id, page_id, name, data, at) VALUES (@visitId, @pageId, @name, @data, @at)`,
    ),
    // Keeps the visit's latest: whatever is at or below the first one past the limit goes.
    trimEvents: db.prepare<{ visitId: string; keep: number }>(
      `DELETE FROM business_events WHERE visit_id = @visitId AND seq <= (
         SELECT seq FROM business_events WHERE visit_id = @visitId ORDER BY seq DESC LIMIT 1 OFFSET @keep)`,
    ),
    recentEvents: db.prepare<[string, number], BusinessEventRow>(
      `SELECT * FROM business_events WHERE visit_id = ? ORDER BY seq DESC LIMIT ?`,
    ),
    setIdentity: db.prepare<{
      visitId: string;
      userId: string | null;
      verified: number | null;
      traits: string | null;
      at: number | null;
    }>(
      `UPDATE visits SET user_id = @userId, verified = @verified, traits = @traits, identified_at = @at WHERE visit_id = @visitId`,
    ),
    pagesOf: db.prepare<[string], PageRow>(`SELECT * FROM pages WHERE visit_id = ? ORDER BY connected_at, page_id`),
    attemptsOf: db.prepare<[string], EngagementRow>(
      `SELECT * FROM engagements WHERE visit_id = ? ORDER BY created_at, interaction_id`,
    ),
    visitsOfBrowser: db.prepare<
      { globalVisitId: string; afterStartedAt: number | null; afterVisitId: string | null; limit: number },
      VisitWithIdentity
    >(
      `SELECT * FROM visits WHERE global_visit_id = @globalVisitId
         AND (@afterStartedAt IS NULL OR (started_at, visit_id) < (@afterStartedAt, @afterVisitId))
       ORDER BY started_at DESC, visit_id DESC LIMIT @limit`,
    ),
    // Erasure: what the browser has, then every row that names it.
    browserVisitIds: db.prepare<[string], string>(`SELECT visit_id FROM visits WHERE global_visit_id = ?`).pluck(),
    browserAttempts: db.prepare<
      { globalVisitId: string; visitIds: string },
      { interaction_id: string; visit_id: string | null }
    >(
      `SELECT interaction_id, visit_id FROM engagements WHERE global_visit_id = @globalVisitId
       UNION
       SELECT interaction_id, visit_id FROM engagements WHERE visit_id IN (SELECT value FROM json_each(@visitIds))`,
    ),
    countPages: db
      .prepare<[string], number>(`SELECT count(*) FROM pages WHERE visit_id IN (SELECT value FROM json_each(?))`)
      .pluck(),
    countEvents: db
      .prepare<[string], number>(
        `SELECT count(*) FROM business_events WHERE visit_id IN (SELECT value FROM json_each(?))`,
      )
      .pluck(),
    dropDeliveries: db.prepare(
      `DELETE FROM webhook_deliveries WHERE seq IN
         (SELECT seq FROM events WHERE visit_id IN (SELECT value FROM json_each(?)))`,
    ),
    dropLogged: db.prepare(`DELETE FROM events WHERE visit_id IN (SELECT value FROM json_each(?))`),
    dropBusinessEvents: db.prepare(`DELETE FROM business_events WHERE visit_id IN (SELECT value FROM json_each(?))`),
    dropPages: db.prepare(`DELETE FROM pages WHERE visit_id IN (SELECT value FROM json_each(?))`),
    dropVisits: db.prepare(`DELETE FROM visits WHERE visit_id IN (SELECT value FROM json_each(?))`),
    dropReportAttempts: db.prepare(
      `DELETE FROM report_attempts WHERE interaction_id IN (SELECT value FROM json_each(?))`,
    ),
    dropCapEntries: db.prepare(
      `DELETE FROM cap_budget WHERE global_visit_id = @globalVisitId
         OR interaction_id IN (SELECT value FROM json_each(@interactionIds))`,
    ),
    dropAttempts: db.prepare(`DELETE FROM engagements WHERE interaction_id IN (SELECT value FROM json_each(?))`),
    dropDeclines: db.prepare(`DELETE FROM cap_declines WHERE global_visit_id = ?`),
    dropOptOut: db.prepare(`DELETE FROM browsers WHERE global_visit_id = ?`),
    pruneMarkers: db.prepare(
      `DELETE FROM erasures WHERE marker IN
         (SELECT marker FROM erasures WHERE until <= ? ORDER BY until LIMIT ${MARKER_PRUNE_BATCH})`,
    ),
    putMarker: db.prepare(
      `INSERT INTO erasures (marker, erased_at, until) VALUES (?, ?, ?)
       ON CONFLICT (marker) DO UPDATE SET erased_at = excluded.erased_at, until = excluded.until`,
    ),
    marker: db.prepare<[string, number], { erased_at: number }>(
      `SELECT erased_at FROM erasures WHERE marker = ? AND until > ?`,
    ),
  };

  const recordBusinessEvent = db.transaction(
    (
      event: { visitId: string; pageId: string; name: string; data: ContextData },
      now: number,
    ): 'stored' | 'no-page' => {
      const page = stmt.page.get(event.pageId);
      if (!page || page.visit_id !== event.visitId || page.closed_at !== null) return 'no-page';
      if (stmt.visit.get(event.visitId)?.ended_at !== null) return 'no-page';
      stmt.insertEvent.run({ ...event, data: JSON.stringify(event.data), at: now });
      stmt.trimEvents.run({ visitId: event.visitId, keep: KEPT_BUSINESS_EVENTS });
      recordEvent(businessEventOf(event, now));
      return 'stored';
    },
  );

  const changeIdentity = db.transaction(
    (
      visitId: string,
      pageId: string,
      change: IdentityChange,
      now: number,
    ): { identity: IdentityRecord | null } | 'no-visit' => {
      const visit = stmt.visit.get(visitId);
      if (!visit || visit.ended_at !== null) return 'no-visit';
      const next = changed(identityOf(visit), change, now);
      if (next === undefined) return { identity: null };
      stmt.setIdentity.run({
        visitId,
        userId: next?.userId ?? null,
        verified: next ? (next.verified ? 1 : 0) : null,
        traits: next ? JSON.stringify(next.traits) : null,
        at: next?.at ?? null,
      });
      recordEvent(identityEventOf(visitId, pageId, next, now));
      return { identity: next };
    },
  );

  const historyOf = (visit: VisitWithIdentity): VisitHistoryRecord => ({
    visit: toVisit(visit),
    identity: identityOf(visit),
    pages: stmt.pagesOf.all(visit.visit_id).map(toPage),
    events: stmt.recentEvents.all(visit.visit_id, KEPT_BUSINESS_EVENTS).map(toBusinessEvent),
    attempts: stmt.attemptsOf.all(visit.visit_id).map(toEngagement),
  });

  // Reads in one transaction: a history is one snapshot, not pieces of several.
  const visitHistory = db.transaction((visitId: string): VisitHistoryRecord | null => {
    const visit = stmt.visit.get(visitId);
    return visit ? historyOf(visit) : null;
  });

  const visitorVisits = db.transaction(
    (
      globalVisitId: string,
      after: VisitPosition | null,
      limit: number,
    ): { visits: VisitHistoryRecord[]; more: boolean } => {
      const rows = stmt.visitsOfBrowser.all({
        globalVisitId,
        afterStartedAt: after?.startedAt ?? null,
        afterVisitId: after?.visitId ?? null,
        limit: limit + 1,
      });
      return { visits: rows.slice(0, limit).map(historyOf), more: rows.length > limit };
    },
  );

  const visitContexts = db.transaction((visitIds: readonly string[], recent: number) => {
    const contexts = new Map<string, { identity: IdentityRecord | null; events: BusinessEventRecord[] }>();
    for (const visitId of visitIds) {
      const visit = stmt.visit.get(visitId);
      if (!visit) continue;
      const identity = identityOf(visit);
      const events = recent > 0 ? stmt.recentEvents.all(visitId, recent).map(toBusinessEvent) : [];
      if (identity !== null || events.length > 0) contexts.set(visitId, { identity, events });
    }
    return contexts;
  });

  const eraseVisitor = db.transaction(
    (globalVisitId: string, marker: { key: string; until: number }, now: number): ErasureCounts => {
      const visitIds = stmt.browserVisitIds.all(globalVisitId);
      const visitList = JSON.stringify(visitIds);
      const attempts = stmt.browserAttempts.all({ globalVisitId, visitIds: visitList });
      const attemptList = JSON.stringify(attempts.map((a) => a.interaction_id));
      // The visits whose events go: the browser's, and those of its attempts whose visit retention pruned.
      const loggedVisits = JSON.stringify([
        ...new Set([...visitIds, ...attempts.flatMap((a) => (a.visit_id === null ? [] : [a.visit_id]))]),
      ]);
      const counts: ErasureCounts = {
        visits: visitIds.length,
        pages: stmt.countPages.get(visitList)!,
        events: stmt.countEvents.get(visitList)!,
        attempts: attempts.length,
      };

      for (const { interaction_id } of attempts) deps.channels.forget(interaction_id);
      stmt.dropReportAttempts.run(attemptList);
      stmt.dropCapEntries.run({ globalVisitId, interactionIds: attemptList });
      stmt.dropAttempts.run(attemptList);
      stmt.dropDeclines.run(globalVisitId);
      stmt.dropOptOut.run(globalVisitId);
      stmt.dropDeliveries.run(loggedVisits);
      stmt.dropLogged.run(loggedVisits);
      stmt.dropBusinessEvents.run(loggedVisits);
      stmt.dropPages.run(visitList);
      stmt.dropVisits.run(visitList);

      stmt.pruneMarkers.run(now);
      stmt.putMarker.run(marker.key, now, marker.until);
      if (counts.visits + counts.pages + counts.events + counts.attempts > 0) recordEvent(erasureEventOf(counts, now));
      return counts;
    },
  );

  return {
    async recordBusinessEvent(event, now) {
      return write(() => recordBusinessEvent(event, now));
    },
    async changeIdentity(visitId, pageId, change, now) {
      return write(() => changeIdentity(visitId, pageId, change, now));
    },
    async visitContexts(visitIds, recent) {
      return visitContexts(visitIds, recent);
    },
    async visitHistory(visitId) {
      return visitHistory(visitId);
    },
    async visitorVisits(globalVisitId, { after, limit }) {
      return visitorVisits(globalVisitId, after, limit);
    },
    async eraseVisitor(globalVisitId, marker, now) {
      const counts = await write(() => eraseVisitor(globalVisitId, marker, now));
      // Every page of the WAL into the file, and the WAL truncated, so that the erased rows' old pages are no
      // longer in it. A reader or writer of another process can hold it back for a moment only; what it could
      // not do the next erasure's checkpoint does (docs/decisions.md). The erasure itself has committed either
      // way, so a failure here is not the caller's.
      await truncateWal(CHECKPOINT_WAIT_MS);
      return counts;
    },
    async erasedAt(markerKey, now) {
      return stmt.marker.get(markerKey, now)?.erased_at ?? null;
    },
  };
}
