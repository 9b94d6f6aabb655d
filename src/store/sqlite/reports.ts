/**
 * The SQLite store's reports (core/reports.ts): the hourly counters, written
 * inside the transaction of the change they count (attempts.ts runs these in
 * its own), read per hour, pruned by the retention loop; and the attempts by
 * creation time, for the export. The same counters, caps and rules as the
 * Redis store's scripts; the store contract checks both against one scripted
 * history.
 */
import type Database from 'better-sqlite3';
import type { Engagement, EngagementState } from '../../protocol/index.js';
import {
  HOUR_MS,
  NONE,
  OTHER,
  REPORT_CAPS,
  REPORT_KINDS,
  answerBucket,
  hourOf,
  reportPath,
  NARROWED,
  refusedCounter,
  type RefusalCode,
  type ReportHour,
} from '../../core/reports.js';
import type { ReportStore } from '../../core/store.js';
import type { SqliteContext } from './context.js';
import { toEngagement, type EngagementRow } from './rows.js';

const TERMINAL: readonly EngagementState[] = ['accepted', 'declined', 'timed_out', 'cancelled', 'expired'];

export interface SqliteReports {
  /** An attempt was created at `at`. */
  created(at: number): void;
  /** An engage was refused at `at` with `code`. */
  refused(code: RefusalCode, at: number): void;
  /** An attempt was created at `at` with fewer channels than asked. */
  narrowed(at: number): void;
  /** `engagement` (as it is after the change) entered `to` at `at`. */
  transitioned(engagement: Engagement, to: EngagementState, at: number): void;
  /** The hours in [fromHour, toHour) that hold any counter. */
  hours(fromHour: number, toHour: number): ReportHour[];
  /** Deletes the hours that ended before `before`; returns how many counters went. */
  prune(before: number): number;
}

export function sqliteReports(db: Database.Database): SqliteReports {
  const stmt = {
    bump: db.prepare(
      `INSERT INTO report_counts (hour, name, n) VALUES (?, ?, ?) ON CONFLICT (hour, name) DO UPDATE SET n = n + excluded.n`,
    ),
    count: db.prepare<[number, string], { n: number }>(`SELECT n FROM report_counts WHERE hour = ? AND name = ?`),
    bumpKept: db.prepare(`UPDATE report_counts SET n = n + 1 WHERE hour = ? AND name = ?`),
    attempt: db.prepare<[string], { delivered_at: number; path: string }>(
      `SELECT delivered_at, path FROM report_attempts WHERE interaction_id = ?`,
    ),
    shown: db.prepare(
      `INSERT INTO report_attempts (interaction_id, delivered_at, path) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    settled: db.prepare(`DELETE FROM report_attempts WHERE interaction_id = ?`),
    pageUrl: db.prepare<[string], { url: string }>(`SELECT url FROM pages WHERE page_id = ?`),
    hours: db.prepare<[number, number], { hour: number; name: string; n: number }>(
      `SELECT hour, name, n FROM report_counts WHERE hour >= ? AND hour < ? ORDER BY hour`,
    ),
    prune: db.prepare(`DELETE FROM report_counts WHERE hour <= ?`),
  };

  const bump = (hour: number, name: string) => stmt.bump.run(hour, name, 1);
  /** An open-ended counter: a new name only while the hour holds fewer than the cap, else `(other)`. */
  const bumpNamed = (hour: number, kind: keyof typeof REPORT_CAPS, name: string) => {
    const field = `${kind}:${name}`;
    if (stmt.bumpKept.run(hour, field).changes === 1) return; // a name already kept: the usual case, one statement
    if ((stmt.count.get(hour, `n:${kind}`)?.n ?? 0) < REPORT_CAPS[kind]) {
      bump(hour, `n:${kind}`);
      return bump(hour, field);
    }
    return bump(hour, `${kind}:${OTHER}`);
  };

  return {
    created(at) {
      bump(hourOf(at), 'created');
    },
    refused(code, at) {
      bump(hourOf(at), refusedCounter(code));
    },
    narrowed(at) {
      bump(hourOf(at), NARROWED);
    },
    transitioned(engagement, to, at) {
      const hour = hourOf(at);
      const shown = stmt.attempt.get(engagement.interactionId);
      switch (to) {
        case 'delivered': {
          if (shown) break; // counted at its first show
          const page = engagement.shownPageId === null ? undefined : stmt.pageUrl.get(engagement.shownPageId);
          const path = reportPath(page?.url);
          bump(hour, 'delivered');
          bumpNamed(hour, REPORT_KINDS.shown, path);
          stmt.shown.run(engagement.interactionId, at, path);
          break;
        }
        case 'accepted':
          bump(hour, 'accepted');
          bumpNamed(hour, REPORT_KINDS.channel, engagement.channel ?? NONE);
          if (shown) {
            bump(hour, `${REPORT_KINDS.answer}:${answerBucket(at - shown.delivered_at)}`);
            bumpNamed(hour, REPORT_KINDS.acceptedOn, shown.path);
          }
          break;
        case 'declined':
          bump(hour, 'declined');
          if (shown) bump(hour, `${REPORT_KINDS.answer}:${answerBucket(at - shown.delivered_at)}`);
          break;
        case 'cancelled':
          bump(hour, 'cancelled');
          bumpNamed(hour, REPORT_KINDS.reason, engagement.reason ?? NONE);
          break;
        case 'timed_out':
        case 'expired':
          bump(hour, to);
          break;
        case 'pending':
          break;
      }
      if (TERMINAL.includes(to)) stmt.settled.run(engagement.interactionId);
    },
    hours(fromHour, toHour) {
      const out: ReportHour[] = [];
      for (const row of stmt.hours.all(fromHour, toHour)) {
        let last = out[out.length - 1];
        if (last?.hour !== row.hour) out.push((last = { hour: row.hour, counts: {} }));
        if (!row.name.startsWith('n:')) last.counts[row.name] = row.n;
      }
      return out;
    },
    prune(before) {
      // An hour goes once it has ended before the cut (Redis: EXPIREAT at the hour's end + retention).
      return stmt.prune.run(before - HOUR_MS).changes;
    },
  };
}

/** The `ReportStore` part of the store: the counters per hour, their retention, and the export's reads. */
export function sqliteReportStore({ db, write }: SqliteContext, reports: SqliteReports): ReportStore {
  const createdBetween = db.prepare<
    { from: number; to: number; afterAt: number | null; afterId: string | null; limit: number },
    EngagementRow
  >(
    `SELECT * FROM engagements WHERE created_at >= @from AND created_at < @to
       AND (@afterAt IS NULL OR (created_at, interaction_id) > (@afterAt, @afterId))
     ORDER BY created_at, interaction_id LIMIT @limit`,
  );

  return {
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
  };
}
