/**
 * The embedded store: one SQLite file (better-sqlite3, WAL). Writes run in
 * IMMEDIATE transactions, so the check and the change of every
 * compare-and-set are atomic even with several processes on one file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type {
  BeckonEvent,
  Engagement,
  EngagementState,
  EventType,
  IxnProfile,
  PageInfo,
  PageUpdate,
} from '../../protocol/index.js';
import { attemptEvent, pageEvent, toBeckonEvent, visitEvent, type EventDraft } from '../../core/events.js';
import { MIGRATIONS } from './migrations.js';
import { groupCommit } from './group-commit.js';
import { sqliteCaps } from './caps.js';
import { EventListeners } from '../listeners.js';
import { sqliteReports } from './reports.js';
import { REAPED_MEMORY_MS, REAPED_SCAN } from '../../core/store.js';
import { capsOn, type CapSettings } from '../../core/caps.js';
import type {
  BeckonStore,
  CreateResult,
  DueDeadline,
  EventFilter,
  HeldPage,
  LiveVisit,
  NodeRef,
  PageRecord,
  TransitionRequest,
  VisitRecord,
  WebhookDelivery,
} from '../../core/store.js';

const ACTIVE_STATES = `('pending','delivered')`;

interface EngagementRow {
  interaction_id: string;
  visit_id: string | null;
  page_id: string | null;
  shown_page_id: string | null;
  state: EngagementState;
  channels: string;
  channel: string | null;
  reason: string | null;
  invitation: string;
  timeout_seconds: number;
  expiration_seconds: number;
  user_data: string;
  extras: string;
  created_at: number;
  expires_at: number;
  timeout_at: number | null;
  transitions: string;
}

interface VisitRow {
  visit_id: string;
  global_visit_id: string;
  started_at: number;
  idle_since: number | null;
  ended_at: number | null;
}

interface PageRow {
  page_id: string;
  visit_id: string;
  url: string;
  title: string;
  visible: number;
  focused: number;
  locale: string | null;
  connected_at: number;
  active_at: number;
  closed_at: number | null;
  node_id: string | null;
  boot_id: string | null;
}

interface EventRow {
  seq: number;
  id: string;
  type: EventType;
  at: number;
  visit_id: string | null;
  interaction_id: string | null;
  page_id: string | null;
  body: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The event as sent; columns win over the body, and fields missing from older bodies read as null. */
function toEvent(row: EventRow): BeckonEvent {
  const body = JSON.parse(row.body) as Partial<BeckonEvent>;
  return toBeckonEvent({
    id: row.id,
    seq: row.seq,
    type: row.type,
    at: row.at,
    interactionId: row.interaction_id,
    visitId: row.visit_id,
    pageId: row.page_id,
    channel: body.channel ?? null,
    reason: body.reason ?? null,
    userData: body.userData ?? {},
  });
}

function toEngagement(row: EngagementRow): Engagement {
  return {
    interactionId: row.interaction_id,
    visitId: row.visit_id,
    pageId: row.page_id,
    shownPageId: row.shown_page_id,
    state: row.state,
    channels: JSON.parse(row.channels),
    channel: row.channel,
    reason: row.reason,
    invitation: JSON.parse(row.invitation),
    timeoutSeconds: row.timeout_seconds,
    expirationSeconds: row.expiration_seconds,
    userData: JSON.parse(row.user_data),
    extras: JSON.parse(row.extras),
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    timeoutAt: row.timeout_at === null ? null : iso(row.timeout_at),
    transitions: JSON.parse(row.transitions),
  };
}

const toVisit = (row: VisitRow): VisitRecord => ({
  visitId: row.visit_id,
  globalVisitId: row.global_visit_id,
  startedAt: row.started_at,
  idleSince: row.idle_since,
  endedAt: row.ended_at,
});

const toPage = (row: PageRow): PageRecord => ({
  pageId: row.page_id,
  visitId: row.visit_id,
  url: row.url,
  title: row.title,
  visible: row.visible === 1,
  focused: row.focused === 1,
  locale: row.locale,
  connectedAt: row.connected_at,
  activeAt: row.active_at,
  closedAt: row.closed_at,
  nodeId: row.node_id,
  bootId: row.boot_id,
});

const toHeld = (row: { page_id: string; visit_id: string; node_id: string; boot_id: string }): HeldPage => ({
  pageId: row.page_id,
  visitId: row.visit_id,
  node: { nodeId: row.node_id, bootId: row.boot_id },
});

/** Opens (creating if needed) the SQLite store at `file`; `:memory:` works for tests. */
export function openSqliteStore(file: string): BeckonStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only power loss can drop the last commits).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);

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
    pagesHeldBy: db.prepare<
      { nodeId: string; exceptBootId: string | null; limit: number },
      { page_id: string; visit_id: string; node_id: string; boot_id: string }
    >(
      `SELECT page_id, visit_id, node_id, boot_id FROM pages
       WHERE node_id = @nodeId AND closed_at IS NULL AND (@exceptBootId IS NULL OR boot_id <> @exceptBootId)
       ORDER BY boot_id, page_id LIMIT @limit`,
    ),
    pagesOfBoot: db.prepare<
      { nodeId: string; bootId: string; limit: number },
      { page_id: string; visit_id: string; node_id: string; boot_id: string }
    >(
      `SELECT page_id, visit_id, node_id, boot_id FROM pages
       WHERE node_id = @nodeId AND boot_id = @bootId AND closed_at IS NULL ORDER BY page_id LIMIT @limit`,
    ),
    getNode: db.prepare<[string, string], { expires_at: number; reaped_at: number | null }>(
      `SELECT expires_at, reaped_at FROM nodes WHERE node_id = ? AND boot_id = ?`,
    ),
    registerNode: db.prepare(
      `INSERT INTO nodes (node_id, boot_id, expires_at) VALUES (@nodeId, @bootId, @expiresAt)
       ON CONFLICT (node_id, boot_id) DO UPDATE SET expires_at = excluded.expires_at WHERE reaped_at IS NULL`,
    ),
    expiredNodes: db.prepare<{ now: number; limit: number }, { node_id: string; boot_id: string }>(
      `SELECT node_id, boot_id FROM nodes WHERE reaped_at IS NULL AND expires_at < @now
       ORDER BY expires_at, node_id, boot_id LIMIT @limit`,
    ),
    reapNode: db.prepare(
      `UPDATE nodes SET reaped_at = @now
       WHERE node_id = @nodeId AND boot_id = @bootId AND reaped_at IS NULL AND expires_at < @now`,
    ),
    reapedBootsWithPages: db.prepare<
      { since: number; limit: number; scan: number },
      { node_id: string; boot_id: string }
    >(
      `SELECT node_id, boot_id FROM (
         SELECT node_id, boot_id, reaped_at FROM nodes WHERE reaped_at IS NOT NULL AND reaped_at >= @since
         ORDER BY reaped_at DESC, node_id, boot_id LIMIT @scan) AS reaped
       WHERE EXISTS (SELECT 1 FROM pages WHERE pages.node_id = reaped.node_id AND pages.boot_id = reaped.boot_id
                     AND pages.closed_at IS NULL)
       ORDER BY reaped_at DESC, node_id, boot_id LIMIT @limit`,
    ),
    // Retention (pruneVisits): closed pages oldest first, then ended visits with no page left
    // and no attempt in progress. `closed_at IS NOT NULL` lets the partial indexes serve.
    pruneClosedPages: db.prepare<{ before: number; limit: number }>(
      `DELETE FROM pages WHERE page_id IN (
         SELECT page_id FROM pages WHERE closed_at IS NOT NULL AND closed_at < @before
         ORDER BY closed_at, page_id LIMIT @limit)`,
    ),
    pruneEndedVisits: db.prepare<{ before: number; limit: number }>(
      `DELETE FROM visits WHERE visit_id IN (
         SELECT visit_id FROM visits AS v WHERE ended_at IS NOT NULL AND ended_at < @before
           AND NOT EXISTS (SELECT 1 FROM pages WHERE pages.visit_id = v.visit_id)
           AND NOT EXISTS (SELECT 1 FROM engagements AS e WHERE e.visit_id = v.visit_id AND e.state IN ${ACTIVE_STATES})
         ORDER BY ended_at, visit_id LIMIT @limit)`,
    ),
    // Retention (pruneAttempts): settled attempts, oldest settled first (the partial index serves).
    settledBefore: db
      .prepare<{ before: number; limit: number }, string>(
        `SELECT interaction_id FROM engagements WHERE settled_at IS NOT NULL AND settled_at < @before
           AND state NOT IN ${ACTIVE_STATES} ORDER BY settled_at, interaction_id LIMIT @limit`,
      )
      .pluck(),
    dropEngagement: db.prepare(`DELETE FROM engagements WHERE interaction_id = ?`),
    dropCapEntry: db.prepare(`DELETE FROM cap_budget WHERE interaction_id = ?`),
    dropReportAttempt: db.prepare(`DELETE FROM report_attempts WHERE interaction_id = ?`),
    pruneReaped: db.prepare(`DELETE FROM nodes WHERE reaped_at IS NOT NULL AND reaped_at < ?`),
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
    getEngagement: db.prepare<[string], EngagementRow>(`SELECT * FROM engagements WHERE interaction_id = ?`),
    activeEngagements: db.prepare<[string], EngagementRow>(
      `SELECT * FROM engagements WHERE visit_id = ? AND state IN ${ACTIVE_STATES} ORDER BY created_at, rowid`,
    ),
    insertEngagement: db.prepare(
      `INSERT INTO engagements (interaction_id, visit_id, page_id, state, channels, reason, invitation,
         timeout_seconds, expiration_seconds, user_data, extras, created_at, expires_at, transitions, settled_at)
       VALUES (@interactionId, @visitId, @pageId, @state, @channels, @reason, @invitation,
         @timeoutSeconds, @expirationSeconds, @userData, @extras, @now, @expiresAt, @transitions,
         CASE WHEN @state IN ${ACTIVE_STATES} THEN NULL ELSE @now END)`,
    ),
    transition: db.prepare(
      `UPDATE engagements SET state = @to,
         channel = coalesce(@channel, channel),
         reason = coalesce(@reason, reason),
         timeout_at = coalesce(timeout_at, @timeoutAt),
         shown_page_id = coalesce(@pageId, shown_page_id),
         transitions = json_set(transitions, '$.' || @to, @atIso),
         settled_at = CASE WHEN @to IN ${ACTIVE_STATES} THEN NULL ELSE @at END
       WHERE interaction_id = @interactionId AND state IN (SELECT value FROM json_each(@from))
         AND (@visitId IS NULL OR visit_id = @visitId)`,
    ),
    placeOn: db.prepare(
      `UPDATE engagements SET shown_page_id = @pageId
       WHERE interaction_id = @interactionId AND shown_page_id IS @expected AND state IN ${ACTIVE_STATES}`,
    ),
    nextExpiry: db.prepare<[], { t: number | null }>(
      `SELECT min(expires_at) AS t FROM engagements WHERE state = 'pending'`,
    ),
    nextTimeout: db.prepare<[], { t: number | null }>(
      `SELECT min(timeout_at) AS t FROM engagements WHERE state = 'delivered'`,
    ),
    nextIdle: db.prepare<[], { t: number | null }>(
      `SELECT min(idle_since) AS t FROM visits WHERE ended_at IS NULL AND idle_since IS NOT NULL`,
    ),
    dueExpiries: db.prepare<[number], { interaction_id: string }>(
      `SELECT interaction_id FROM engagements WHERE state = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT 500`,
    ),
    dueTimeouts: db.prepare<[number], { interaction_id: string }>(
      `SELECT interaction_id FROM engagements WHERE state = 'delivered' AND timeout_at <= ? ORDER BY timeout_at LIMIT 500`,
    ),
    dueVisits: db.prepare<[number], { visit_id: string }>(
      `SELECT visit_id FROM visits WHERE ended_at IS NULL AND idle_since IS NOT NULL AND idle_since <= ? LIMIT 500`,
    ),
    setOptOut: db.prepare(
      `INSERT INTO browsers (global_visit_id, opted_out, changed_at) VALUES (?, ?, ?)
       ON CONFLICT (global_visit_id) DO UPDATE SET opted_out = excluded.opted_out, changed_at = excluded.changed_at`,
    ),
    isOptedOut: db.prepare<[string], { opted_out: number }>(`SELECT opted_out FROM browsers WHERE global_visit_id = ?`),
    activeOfBrowser: db.prepare<[string], { interaction_id: string }>(
      `SELECT interaction_id FROM engagements JOIN visits USING (visit_id)
       WHERE visits.global_visit_id = ? AND engagements.state IN ${ACTIVE_STATES}`,
    ),
    counts: db.prepare<[], { liveVisits: number; openPages: number }>(
      `SELECT (SELECT count(*) FROM visits WHERE ended_at IS NULL) AS liveVisits,
              (SELECT count(*) FROM pages JOIN visits USING (visit_id)
                WHERE pages.closed_at IS NULL AND visits.ended_at IS NULL) AS openPages`,
    ),
    insertEvent: db.prepare(
      `INSERT INTO events (id, type, at, visit_id, interaction_id, page_id, body)
       VALUES (@id, @type, @at, @visitId, @interactionId, @pageId, @body)`,
    ),
    lastEventSeq: db.prepare<[], { seq: number | null }>(`SELECT max(seq) AS seq FROM events`),
    // The oldest events by seq (the rowid, no scan): `at` grows with seq, so
    // pruning stops at the first young one instead of reading the whole log.
    oldestEvents: db.prepare<{ limit: number }, { seq: number; at: number; waiting: number }>(
      `SELECT seq, at, EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.seq = events.seq AND d.state = 'waiting') AS waiting
       FROM events ORDER BY seq LIMIT @limit`,
    ),
    dropFailedDelivery: db.prepare(`DELETE FROM webhook_deliveries WHERE seq = ? AND state = 'failed'`),
    dropEvent: db.prepare(`DELETE FROM events WHERE seq = ?`),
    eventsAfter: db.prepare<{ after: number; types: string | null; limit: number }, EventRow>(
      `SELECT * FROM events WHERE seq > @after
         AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
       ORDER BY seq LIMIT @limit`,
    ),
    // A separate statement so that the (visit_id, seq) index serves it.
    visitEventsAfter: db.prepare<{ after: number; types: string | null; visitId: string; limit: number }, EventRow>(
      `SELECT * FROM events WHERE visit_id = @visitId AND seq > @after
         AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
       ORDER BY seq LIMIT @limit`,
    ),
    webhookCursor: db.prepare<[], { seq: number }>(`SELECT seq FROM webhook_cursor WHERE id = 1`),
    setWebhookCursor: db.prepare(
      `INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq`,
    ),
    scanEvents: db.prepare<[number, number], { upto: number | null; scanned: number }>(
      `SELECT max(seq) AS upto, count(*) AS scanned FROM (SELECT seq FROM events WHERE seq > ? ORDER BY seq LIMIT ?)`,
    ),
    queueWebhooks: db.prepare(
      `INSERT INTO webhook_deliveries (seq, lane, next_at)
       SELECT seq, coalesce(visit_id, interaction_id, ''), @now FROM events
       WHERE seq > @from AND seq <= @upto AND at >= @oldest
         AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
       ON CONFLICT DO NOTHING`,
    ),
    // Only the oldest waiting delivery of each lane may go: that keeps a visit's events in order.
    dueWebhooks: db.prepare<{ now: number; limit: number }, EventRow & { attempts: number }>(
      `SELECT d.attempts, e.* FROM
         (SELECT lane, min(seq) AS seq FROM webhook_deliveries WHERE state = 'waiting' GROUP BY lane) AS head
       JOIN webhook_deliveries AS d ON d.seq = head.seq
       JOIN events AS e ON e.seq = d.seq
       WHERE d.next_at <= @now ORDER BY d.seq LIMIT @limit`,
    ),
    nextWebhookAt: db.prepare<[], { t: number | null }>(
      `SELECT min(d.next_at) AS t FROM
         (SELECT lane, min(seq) AS seq FROM webhook_deliveries WHERE state = 'waiting' GROUP BY lane) AS head
       JOIN webhook_deliveries AS d ON d.seq = head.seq`,
    ),
    leaseWebhook: db.prepare(`UPDATE webhook_deliveries SET next_at = ? WHERE seq = ?`),
    webhookDelivered: db.prepare(`DELETE FROM webhook_deliveries WHERE seq = ?`),
    webhookFailed: db.prepare(
      `UPDATE webhook_deliveries SET attempts = @attempts, last_error = @error,
         next_at = coalesce(@retryAt, next_at),
         state = CASE WHEN @retryAt IS NULL THEN 'failed' ELSE 'waiting' END
       WHERE seq = @seq`,
    ),
    webhookBacklog: db.prepare<[], { state: string; n: number }>(
      `SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state`,
    ),
  };

  // Report counters: written inside the transactions below, next to the change they count.
  const reports = sqliteReports(db);
  const createdBetween = db.prepare<
    { from: number; to: number; afterAt: number | null; afterId: string | null; limit: number },
    EngagementRow
  >(
    `SELECT * FROM engagements WHERE created_at >= @from AND created_at < @to
       AND (@afterAt IS NULL OR (created_at, interaction_id) > (@afterAt, @afterId))
     ORDER BY created_at, interaction_id LIMIT @limit`,
  );

  // Set when a transaction writes an event; listeners are told once it has committed.
  let eventsRecorded = false;
  const eventListeners = new EventListeners();
  const caps = sqliteCaps(db);

  /** Writes one event to the log; always called inside the transaction of the change it reports. */
  function recordEvent(draft: EventDraft): void {
    const id = randomUUID();
    // Every event has every field, so a receiver reads them all the same way.
    const body = toBeckonEvent({ ...draft, id, seq: 0 });
    eventsRecorded = true;
    stmt.insertEvent.run({
      id,
      type: draft.type,
      at: draft.at,
      visitId: draft.visitId,
      interactionId: draft.interactionId,
      pageId: draft.pageId,
      body: JSON.stringify({ ...body, seq: undefined }),
    });
  }

  const getEngagement = (id: string) => {
    const row = stmt.getEngagement.get(id);
    return row ? toEngagement(row) : null;
  };

  const insertAttempt = (
    values: {
      interactionId: string;
      visitId: string | null;
      pageId: string | null;
      state: EngagementState;
      channels: string[];
      reason: string | null;
      invitation: object;
      timeoutSeconds: number;
      expirationSeconds: number;
      userData: object;
      extras: object;
    },
    now: number,
  ): Engagement => {
    stmt.insertEngagement.run({
      ...values,
      channels: JSON.stringify(values.channels),
      invitation: JSON.stringify(values.invitation),
      userData: JSON.stringify(values.userData),
      extras: JSON.stringify(values.extras),
      now,
      expiresAt: now + values.expirationSeconds * 1000,
      transitions: JSON.stringify({ [values.state]: iso(now) }),
    });
    const engagement = getEngagement(values.interactionId)!;
    recordEvent(attemptEvent(engagement, now));
    return engagement;
  };

  const createAttempt = db.transaction(
    (
      profile: IxnProfile,
      options: { exclusive: boolean; now: number; place: boolean; caps?: CapSettings },
    ): CreateResult => {
      const existing = getEngagement(profile.interactionId);
      if (existing) return { kind: 'exists', engagement: existing };
      const visit = stmt.getVisit.get(profile.visitId);
      if (!visit || visit.ended_at !== null) return { kind: 'no-visit' };
      if (stmt.isOptedOut.get(visit.global_visit_id)?.opted_out === 1) return { kind: 'opted-out' };
      if (options.exclusive) {
        const active = stmt.activeEngagements.get(profile.visitId);
        if (active) return { kind: 'visit-busy', active: toEngagement(active) };
      }
      if (capsOn(options.caps)) {
        const capped = caps.refusal(visit.global_visit_id, options.caps, options.now);
        if (capped) return capped;
      }
      const engagement = insertAttempt(
        {
          interactionId: profile.interactionId,
          visitId: profile.visitId,
          pageId: profile.pageId,
          state: 'pending',
          channels: profile.channels,
          reason: null,
          invitation: profile.invitation,
          timeoutSeconds: profile.timeoutSeconds,
          expirationSeconds: profile.expirationSeconds,
          userData: profile.userData,
          extras: profile.extras,
        },
        options.now,
      );
      reports.created(options.now);
      if (capsOn(options.caps)) caps.reserve(profile.interactionId, visit.global_visit_id, options.now);
      // Only the visit's oldest attempt in progress is shown; a later one (not
      // strict) waits its turn and is placed when the one before it settles.
      // Exclusive (strict) has just checked that there is no other one.
      const first =
        options.place &&
        (options.exclusive || stmt.activeEngagements.get(profile.visitId)?.interaction_id === profile.interactionId);
      const target = first ? placementFor(profile) : null;
      if (target !== null) {
        stmt.placeOn.run({ interactionId: profile.interactionId, expected: null, pageId: target });
        return { kind: 'created', engagement: { ...engagement, shownPageId: target } };
      }
      return { kind: 'created', engagement };
    },
  );

  /** The page the profile names if it is open, else the visit's first open page in attention order. */
  const placementFor = (profile: IxnProfile): string | null => {
    const open = stmt.openPages.all(profile.visitId);
    return (open.find((page) => page.page_id === profile.pageId) ?? open[0])?.page_id ?? null;
  };

  const createTombstone = db.transaction(
    (cancel: { interactionId: string; visitId: string | null; reason: string | null }, now: number): CreateResult => {
      const existing = getEngagement(cancel.interactionId);
      if (existing) return { kind: 'exists', engagement: existing };
      const engagement = insertAttempt(
        {
          interactionId: cancel.interactionId,
          visitId: cancel.visitId,
          pageId: null,
          state: 'cancelled',
          channels: [],
          reason: cancel.reason,
          invitation: {},
          timeoutSeconds: 0,
          expirationSeconds: 0,
          userData: {},
          extras: {},
        },
        now,
      );
      return { kind: 'created', engagement };
    },
  );

  const transition = db.transaction((request: TransitionRequest): Engagement | null => {
    const changed = stmt.transition.run({
      interactionId: request.interactionId,
      to: request.to,
      from: JSON.stringify(request.from),
      at: request.at,
      atIso: iso(request.at),
      visitId: request.visitId ?? null,
      channel: request.channel ?? null,
      reason: request.reason ?? null,
      timeoutAt: request.timeoutAt ?? null,
      pageId: request.pageId ?? null,
    }).changes;
    if (changed === 0) return null;
    const engagement = getEngagement(request.interactionId)!;
    recordEvent(attemptEvent(engagement, request.at));
    reports.transitioned(engagement, request.to, request.at);
    caps.afterTransition(engagement, request);
    return engagement;
  });

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
      if (changed === 0) return; // the page id belongs to another visit: refuse silently
      stmt.clearIdle.run(visitId);
      if (!before || before.closed_at !== null) recordEvent(pageEvent('page.entered', visitId, pageId, now));
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

  const closeAllPages = db.transaction((now: number): number => {
    let closed = 0;
    for (const page of stmt.openPageIds.all()) if (closePage(page.page_id, now)) closed++;
    return closed;
  });

  /** A boot heard of first registers; a forgotten one stays forgotten. */
  const heartbeat = db.transaction((node: NodeRef, expiresAt: number): 'alive' | 'reaped' => {
    if (stmt.getNode.get(node.nodeId, node.bootId)?.reaped_at != null) return 'reaped';
    stmt.registerNode.run({ ...node, expiresAt });
    return 'alive';
  });

  const forgetNode = db.transaction((node: NodeRef, now: number): boolean => {
    if (stmt.reapNode.run({ ...node, now }).changes === 0) return false;
    stmt.pruneReaped.run(now - REAPED_MEMORY_MS);
    return true;
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

  const setOptOut = db.transaction((globalVisitId: string, optedOut: boolean, now: number): Engagement[] => {
    stmt.setOptOut.run(globalVisitId, optedOut ? 1 : 0, now);
    if (!optedOut) return [];
    const declined: Engagement[] = [];
    for (const { interaction_id } of stmt.activeOfBrowser.all(globalVisitId)) {
      const engagement = transition({
        interactionId: interaction_id,
        from: ['pending', 'delivered'],
        to: 'declined',
        at: now,
        reason: 'opted-out',
      });
      if (engagement) declined.push(engagement);
    }
    return declined;
  });

  const queueWebhookEvents = db.transaction(
    (types: readonly EventType[] | null, now: number, maxAgeMs: number, limit: number): number => {
      const cursor = stmt.webhookCursor.get();
      if (!cursor) {
        // Webhooks were just turned on: start with what happens from now on, not the whole history.
        stmt.setWebhookCursor.run(stmt.lastEventSeq.get()?.seq ?? 0);
        return 0;
      }
      const { upto, scanned } = stmt.scanEvents.get(cursor.seq, limit)!;
      if (upto === null || scanned === 0) return 0;
      stmt.queueWebhooks.run({
        from: cursor.seq,
        upto,
        oldest: now - maxAgeMs,
        now,
        types: types === null ? null : JSON.stringify(types),
      });
      stmt.setWebhookCursor.run(upto);
      return scanned;
    },
  );

  const pruneEvents = db.transaction((before: number, limit: number): number => {
    let dropped = 0;
    for (const { seq, at, waiting } of stmt.oldestEvents.all({ limit })) {
      if (at >= before) break;
      if (waiting) continue; // its webhook is still due: kept until delivered or given up
      stmt.dropFailedDelivery.run(seq);
      stmt.dropEvent.run(seq);
      dropped++;
    }
    return dropped;
  });

  /** One bounded batch of presence retention: pages first, so that a visit whose last pages go now goes too. */
  const pruneVisits = db.transaction((before: number, limit: number): number => {
    const pages = stmt.pruneClosedPages.run({ before, limit }).changes;
    if (pages >= limit) return pages;
    return pages + stmt.pruneEndedVisits.run({ before, limit: limit - pages }).changes;
  });

  /** One bounded batch of attempt retention: each settled attempt with every row that names it (not its events). */
  const pruneAttempts = db.transaction((before: number, limit: number): number => {
    const ids = stmt.settledBefore.all({ before, limit });
    for (const id of ids) {
      stmt.dropCapEntry.run(id);
      stmt.dropReportAttempt.run(id);
      stmt.dropEngagement.run(id);
    }
    return ids.length;
  });

  const claimWebhookDeliveries = db.transaction((now: number, leaseUntil: number, limit: number): WebhookDelivery[] =>
    stmt.dueWebhooks.all({ now, limit }).map((row) => {
      stmt.leaseWebhook.run(leaseUntil, row.seq);
      return { event: toEvent(row), attempts: row.attempts };
    }),
  );

  // Every write goes through the group commit; after each batch, tell the
  // event listeners if it wrote events. A rolled-back write may have set the
  // flag too; a needless read is harmless.
  const writes = groupCommit(db, () => {
    if (eventsRecorded) {
      eventsRecorded = false;
      eventListeners.notify();
    }
  });
  const write = writes.run;

  return {
    kind: 'sqlite',
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
    async setOptOut(globalVisitId, optedOut, now) {
      return write(() => setOptOut(globalVisitId, optedOut, now));
    },
    async isOptedOut(globalVisitId) {
      return stmt.isOptedOut.get(globalVisitId)?.opted_out === 1;
    },
    async closeAllPages(now) {
      return write(() => closeAllPages(now));
    },
    async heartbeat(node, expiresAt) {
      return write(() => heartbeat(node, expiresAt));
    },
    async expiredNodes(now, limit) {
      return stmt.expiredNodes.all({ now, limit }).map((row) => ({ nodeId: row.node_id, bootId: row.boot_id }));
    },
    async forgetNode(node, now) {
      return write(() => forgetNode(node, now));
    },
    async pagesHeldBy(nodeId, exceptBootId, limit) {
      return stmt.pagesHeldBy.all({ nodeId, exceptBootId, limit }).map(toHeld);
    },
    async pagesOfBoot(node, limit) {
      return stmt.pagesOfBoot.all({ ...node, limit }).map(toHeld);
    },
    async reapedBootsWithPages(since, limit, scan = REAPED_SCAN) {
      return stmt.reapedBootsWithPages
        .all({ since, limit, scan })
        .map((row) => ({ nodeId: row.node_id, bootId: row.boot_id }));
    },
    async createAttempt(profile, options) {
      return write(() => createAttempt(profile, options));
    },
    async createTombstone(cancel, now) {
      return write(() => createTombstone(cancel, now));
    },
    async browserBudgets(globalVisitIds, now) {
      return new Map(globalVisitIds.map((id) => [id, caps.budget(id, now)]));
    },
    async getEngagement(interactionId) {
      return getEngagement(interactionId);
    },
    async activeEngagements(visitId) {
      return stmt.activeEngagements.all(visitId).map(toEngagement);
    },
    async transition(request) {
      return write(() => transition(request));
    },
    async placeOn(interactionId, expected, pageId) {
      return write(() => stmt.placeOn.run({ interactionId, expected, pageId }).changes === 1);
    },
    async nextDeadline(visitIdleMs) {
      const times = [
        stmt.nextExpiry.get()?.t,
        stmt.nextTimeout.get()?.t,
        ((t) => (t == null ? null : t + visitIdleMs))(stmt.nextIdle.get()?.t),
      ].filter((t): t is number => typeof t === 'number');
      return times.length ? Math.min(...times) : null;
    },
    async dueDeadlines(now, visitIdleMs): Promise<DueDeadline[]> {
      return [
        ...stmt.dueExpiries.all(now).map((r) => ({ kind: 'expire' as const, interactionId: r.interaction_id })),
        ...stmt.dueTimeouts.all(now).map((r) => ({ kind: 'timeout' as const, interactionId: r.interaction_id })),
        ...stmt.dueVisits.all(now - visitIdleMs).map((r) => ({ kind: 'end-visit' as const, visitId: r.visit_id })),
      ];
    },
    async counts() {
      return stmt.counts.get()!;
    },
    onEvents(listener) {
      return eventListeners.add(listener);
    },
    async lastEventSeq() {
      return stmt.lastEventSeq.get()?.seq ?? 0;
    },
    async eventsAfter(afterSeq, filter: EventFilter, limit) {
      const types = filter.types === null ? null : JSON.stringify(filter.types);
      const rows =
        filter.visitId === null
          ? stmt.eventsAfter.all({ after: afterSeq, types, limit })
          : stmt.visitEventsAfter.all({ after: afterSeq, types, visitId: filter.visitId, limit });
      return rows.map(toEvent);
    },
    async pruneEvents(before, limit) {
      return write(() => pruneEvents(before, limit));
    },
    async pruneVisits(before, limit) {
      if (limit <= 0) return 0;
      return write(() => pruneVisits(before, limit));
    },
    async pruneAttempts(before, limit) {
      if (limit <= 0) return 0;
      return write(() => pruneAttempts(before, limit));
    },
    async queueWebhookEvents({ types, now, maxAgeMs, limit }) {
      return write(() => queueWebhookEvents(types, now, maxAgeMs, limit));
    },
    async claimWebhookDeliveries(now, leaseUntil, limit) {
      return write(() => claimWebhookDeliveries(now, leaseUntil, limit));
    },
    async webhookDelivered(seq) {
      await write(() => stmt.webhookDelivered.run(seq));
    },
    async webhookAttemptFailed(seq, attempts, retryAt, error) {
      await write(() => stmt.webhookFailed.run({ seq, attempts, retryAt, error: error.slice(0, 500) }));
    },
    async nextWebhookAt() {
      return stmt.nextWebhookAt.get()?.t ?? null;
    },
    async webhookBacklog() {
      const counts = Object.fromEntries(stmt.webhookBacklog.all().map((row) => [row.state, row.n]));
      return { waiting: counts.waiting ?? 0, failed: counts.failed ?? 0 };
    },
    async reportHours(fromHour, toHour) {
      return reports.hours(fromHour, toHour);
    },
    async pruneReports(before) {
      return write(() => reports.prune(before));
    },
    async engagementsCreated({ from, to, after, limit }) {
      return createdBetween
        .all({ from, to, afterAt: after?.createdAt ?? null, afterId: after?.interactionId ?? null, limit })
        .map(toEngagement);
    },
    async durabilityWarnings() {
      // WAL with synchronous=NORMAL survives a crash of the process; only `:memory:` forgets at exit.
      return file === ':memory:' ? ['BECKON_DB is :memory:: everything is lost when the process exits.'] : [];
    },
    async ping() {
      try {
        db.prepare('SELECT 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!db.open) return;
      writes.flush();
      db.close();
    },
  };
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  db.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
