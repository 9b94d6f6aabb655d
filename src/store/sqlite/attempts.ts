/**
 * The SQLite store's engagement attempts: creating one (with its placement
 * and the frequency caps in the same transaction), tombstones, the
 * compare-and-set transitions, moving an invitation between pages, a
 * browser's opt-out (which declines its attempts in progress), and the
 * retention of settled attempts. Each change writes its event, its report
 * counters (reports.ts) and its caps budget (caps.ts) in its own transaction.
 */
import type { Engagement, EngagementState, IxnProfile } from '../../protocol/index.js';
import { attemptEvent } from '../../core/events.js';
import { capsOn, type CapSettings } from '../../core/caps.js';
import type { RefusalCode } from '../../core/reports.js';
import type { AttemptStore, CreateResult, PacedChannel, PresenceStore, TransitionRequest } from '../../core/store.js';
import type { SqliteCaps } from './caps.js';
import type { SqliteChannels } from './channels.js';
import type { SqliteContext } from './context.js';
import type { SqlitePresence } from './presence.js';
import type { SqliteReports } from './reports.js';
import { ACTIVE_STATES, iso, toEngagement, type EngagementRow } from './rows.js';

/** The attempt methods (deadlines are in deadlines.ts), and the opt-out that declines attempts. */
export type AttemptMethods = Omit<AttemptStore, 'nextDeadline' | 'dueDeadlines'> & Pick<PresenceStore, 'setOptOut'>;

export interface AttemptDeps {
  presence: SqlitePresence;
  reports: SqliteReports;
  caps: SqliteCaps;
  channels: SqliteChannels;
}

interface TransitionParams {
  interactionId: string;
  to: EngagementState;
  from: string;
  at: number;
  atIso: string;
  visitId: string | null;
  channel: string | null;
  reason: string | null;
  timeoutAt: number | null;
  /** 1: timeoutAt from the attempt's own timeoutSeconds (SQLite has no booleans). */
  timeoutFromAttempt: 0 | 1;
  pageId: string | null;
}

export function sqliteAttempts({ db, write, recordEvent }: SqliteContext, deps: AttemptDeps): AttemptMethods {
  const { presence, reports, caps, channels } = deps;
  const stmt = {
    getEngagement: db.prepare<[string], EngagementRow>(`SELECT * FROM engagements WHERE interaction_id = ?`),
    activeEngagements: db.prepare<[string], EngagementRow>(
      `SELECT * FROM engagements WHERE visit_id = ? AND state IN ${ACTIVE_STATES} ORDER BY created_at, rowid`,
    ),
    insertEngagement: db.prepare(
      `INSERT INTO engagements (interaction_id, visit_id, page_id, shown_page_id, state, channels, reason, invitation,
         timeout_seconds, expiration_seconds, user_data, extras, created_at, expires_at, transitions, settled_at,
         global_visit_id)
       VALUES (@interactionId, @visitId, @pageId, @shownPageId, @state, @channels, @reason, @invitation,
         @timeoutSeconds, @expirationSeconds, @userData, @extras, @now, @expiresAt, @transitions,
         CASE WHEN @state IN ${ACTIVE_STATES} THEN NULL ELSE @now END,
         coalesce(@globalVisitId, (SELECT global_visit_id FROM visits WHERE visit_id = @visitId)))`,
    ),
    // The row as the change left it, in the same statement: no read after the write.
    transition: db.prepare<TransitionParams, EngagementRow>(
      `UPDATE engagements SET state = @to,
         channel = coalesce(@channel, channel),
         reason = coalesce(@reason, reason),
         timeout_at = coalesce(timeout_at, @timeoutAt,
           CASE WHEN @timeoutFromAttempt THEN @at + timeout_seconds * 1000 END),
         shown_page_id = coalesce(@pageId, shown_page_id),
         transitions = json_set(transitions, '$.' || @to, @atIso),
         settled_at = CASE WHEN @to IN ${ACTIVE_STATES} THEN NULL ELSE @at END
       WHERE interaction_id = @interactionId AND state IN (SELECT value FROM json_each(@from))
         AND (@visitId IS NULL OR visit_id = @visitId)
       RETURNING *`,
    ),
    placeOn: db.prepare(
      `UPDATE engagements SET shown_page_id = @pageId
       WHERE interaction_id = @interactionId AND shown_page_id IS @expected AND state IN ${ACTIVE_STATES}`,
    ),
    activeOfBrowser: db.prepare<[string], { interaction_id: string }>(
      `SELECT interaction_id FROM engagements JOIN visits USING (visit_id)
       WHERE visits.global_visit_id = ? AND engagements.state IN ${ACTIVE_STATES}`,
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
  };

  const getEngagement = (id: string) => {
    const row = stmt.getEngagement.get(id);
    return row ? toEngagement(row) : null;
  };

  /**
   * Inserts an attempt and writes its event. `placed`: the page it is shown
   * on from the start and the browser, when the create has read them already
   * (else the row names no page and the browser is looked up); the event
   * still names the page asked for, as one written before the placement.
   */
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
    placed: { shownPageId: string | null; globalVisitId: string | null } = { shownPageId: null, globalVisitId: null },
  ): Engagement => {
    const createdAt = iso(now);
    const expiresAt = now + values.expirationSeconds * 1000;
    const transitions = { [values.state]: createdAt };
    stmt.insertEngagement.run({
      ...values,
      ...placed,
      channels: JSON.stringify(values.channels),
      invitation: JSON.stringify(values.invitation),
      userData: JSON.stringify(values.userData),
      extras: JSON.stringify(values.extras),
      now,
      expiresAt,
      transitions: JSON.stringify(transitions),
    });
    // The record as the row now reads (toEngagement), built from what was written rather than read back;
    // it shares the caller's values, which nothing changes after the engage is parsed.
    const engagement: Engagement = {
      interactionId: values.interactionId,
      visitId: values.visitId,
      pageId: values.pageId,
      shownPageId: null,
      state: values.state,
      channels: values.channels,
      channel: null,
      reason: values.reason,
      invitation: values.invitation as Engagement['invitation'],
      timeoutSeconds: values.timeoutSeconds,
      expirationSeconds: values.expirationSeconds,
      userData: values.userData as Engagement['userData'],
      extras: values.extras as Engagement['extras'],
      createdAt,
      expiresAt: iso(expiresAt),
      timeoutAt: null,
      transitions,
    };
    recordEvent(attemptEvent(engagement, now));
    return engagement;
  };

  /** The page the profile names if it is open, else the visit's first open page in attention order. */
  const placementFor = (profile: IxnProfile): string | null => {
    const open = presence.openPages(profile.visitId);
    return (open.find((page) => page.page_id === profile.pageId) ?? open[0])?.page_id ?? null;
  };

  const createAttempt = db.transaction(
    (
      profile: IxnProfile,
      options: {
        exclusive: boolean;
        now: number;
        place: boolean;
        caps?: CapSettings;
        pacing?: readonly PacedChannel[];
        channelsVersion?: number;
      },
    ): CreateResult => {
      const existing = getEngagement(profile.interactionId);
      if (existing) return { kind: 'exists', engagement: existing };
      if (options.channelsVersion !== undefined && options.channelsVersion !== channels.version()) {
        return { kind: 'channels-changed' };
      }
      const refuse = <R extends CreateResult>(code: RefusalCode, result: R): R => {
        reports.refused(code, options.now);
        return result;
      };
      const visit = presence.visit(profile.visitId);
      if (!visit || visit.ended_at !== null) return refuse('UNKNOWN_VISIT', { kind: 'no-visit' });
      if (presence.optedOut(visit.global_visit_id)) return refuse('VISITOR_OPTED_OUT', { kind: 'opted-out' });
      if (options.exclusive) {
        const active = stmt.activeEngagements.get(profile.visitId);
        if (active) return refuse('ENGAGEMENT_IN_PROGRESS', { kind: 'visit-busy', active: toEngagement(active) });
      }
      if (capsOn(options.caps)) {
        const capped = caps.refusal(visit.global_visit_id, options.caps, options.now);
        if (capped) return refuse('VISITOR_CAPPED', capped);
      }
      // Pacing last: the channels offered are those asked for, less the paced ones closed now.
      const decisions = channels.decide(options.pacing ?? [], options.now);
      const offered = profile.channels.filter((channel) => decisions.get(channel)?.open !== false);
      if (offered.length === 0) {
        const closed = profile.channels.map((channel) => ({ channel, reason: decisions.get(channel)!.reason! }));
        return refuse('NO_CAPACITY', { kind: 'no-capacity', closed });
      }
      // Exclusive (strict) has just checked that there is no other attempt in progress: this one is shown at
      // once, so it is inserted on its page, with no second write.
      const placedNow = options.place && options.exclusive ? placementFor(profile) : null;
      const engagement = insertAttempt(
        {
          interactionId: profile.interactionId,
          visitId: profile.visitId,
          pageId: profile.pageId,
          state: 'pending',
          channels: offered,
          reason: null,
          invitation: profile.invitation,
          timeoutSeconds: profile.timeoutSeconds,
          expirationSeconds: profile.expirationSeconds,
          userData: profile.userData,
          extras: profile.extras,
        },
        options.now,
        { shownPageId: placedNow, globalVisitId: visit.global_visit_id },
      );
      reports.created(options.now);
      if (offered.length < profile.channels.length) reports.narrowed(options.now);
      channels.counted(
        profile.interactionId,
        offered.filter((channel) => decisions.has(channel)),
      );
      if (capsOn(options.caps)) caps.reserve(profile.interactionId, visit.global_visit_id, options.now);
      if (placedNow !== null) return { kind: 'created', engagement: { ...engagement, shownPageId: placedNow } };
      // Only the visit's oldest attempt in progress is shown; a later one (not
      // strict) waits its turn and is placed when the one before it settles.
      const first =
        options.place &&
        !options.exclusive &&
        stmt.activeEngagements.get(profile.visitId)?.interaction_id === profile.interactionId;
      const target = first ? placementFor(profile) : null;
      if (target !== null) {
        stmt.placeOn.run({ interactionId: profile.interactionId, expected: null, pageId: target });
        return { kind: 'created', engagement: { ...engagement, shownPageId: target } };
      }
      return { kind: 'created', engagement };
    },
  );

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
    const row = stmt.transition.get({
      interactionId: request.interactionId,
      to: request.to,
      from: JSON.stringify(request.from),
      at: request.at,
      atIso: iso(request.at),
      visitId: request.visitId ?? null,
      channel: request.channel ?? null,
      reason: request.reason ?? null,
      timeoutAt: request.timeoutAt ?? null,
      timeoutFromAttempt: request.timeoutFromAttempt ? 1 : 0,
      pageId: request.pageId ?? null,
    });
    if (row === undefined) return null;
    const engagement = toEngagement(row);
    recordEvent(attemptEvent(engagement, request.at));
    reports.transitioned(engagement, request.to, request.at);
    caps.afterTransition(engagement, request);
    channels.transitioned(engagement, request.to);
    return engagement;
  });

  const setOptOut = db.transaction((globalVisitId: string, optedOut: boolean, now: number): Engagement[] => {
    presence.recordOptOut(globalVisitId, optedOut, now);
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

  return {
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
    async setOptOut(globalVisitId, optedOut, now) {
      return write(() => setOptOut(globalVisitId, optedOut, now));
    },
    async pruneAttempts(before, limit) {
      if (limit <= 0) return 0;
      return write(() => pruneAttempts(before, limit));
    },
  };
}
