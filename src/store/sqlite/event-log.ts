/**
 * The SQLite store's event log: every change writes its event here in its
 * own transaction (`record`), positions are the table's rowid (`seq`), and
 * listeners hear of new events once the batch that wrote them has committed.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { toBeckonEvent, type EventDraft } from '../../core/events.js';
import type { EventFilter, EventLog } from '../../core/store.js';
import { EventListeners } from '../listeners.js';
import type { GroupCommit } from './group-commit.js';
import { toEvent, type EventRow } from './rows.js';

export interface SqliteEventLog {
  /** Writes one event; always called inside the transaction of the change it reports. */
  record(draft: EventDraft): void;
  /** The newest event's position, 0 when there is none (read inside a transaction). */
  lastSeq(): number;
  /** Called by the group commit after each batch: tells the listeners if the batch wrote events. */
  afterCommit(): void;
  /** The `EventLog` part of the store, its writes through `write`. */
  methods(write: GroupCommit['run']): EventLog;
}

/**
 * An event's id: a UUID whose first 48 bits are the time in ms (version 7,
 * RFC 9562), the rest random. The events' id index is unique; a random id
 * lands on a random page of it, so a commit of n events rewrote n of its
 * pages into the WAL, where ids that grow with time all land on its last
 * page.
 */
export function eventId(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  // randomUUID's 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx': its random bits after the version, the variant kept.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/**
 * The stored body: the event as sent (every field, so that a receiver reads
 * them all the same way), but its position, which is the row's `seq`.
 */
export const eventBody = (draft: EventDraft, id: string): string => JSON.stringify(toBeckonEvent({ ...draft, id }));

export function sqliteEventLog(db: Database.Database): SqliteEventLog {
  const stmt = {
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
  };

  // Set when a transaction writes an event; listeners are told once it has committed.
  // A rolled-back write may have set it too; a needless read is harmless.
  let eventsRecorded = false;
  const listeners = new EventListeners();

  const lastSeq = () => stmt.lastEventSeq.get()?.seq ?? 0;

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

  return {
    record(draft) {
      const id = eventId();
      eventsRecorded = true;
      stmt.insertEvent.run({
        id,
        type: draft.type,
        at: draft.at,
        visitId: draft.visitId,
        interactionId: draft.interactionId,
        pageId: draft.pageId,
        body: eventBody(draft, id),
      });
    },
    lastSeq,
    afterCommit() {
      if (eventsRecorded) {
        eventsRecorded = false;
        listeners.notify();
      }
    },
    methods: (write) => ({
      onEvents(listener) {
        return listeners.add(listener);
      },
      async lastEventSeq() {
        return lastSeq();
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
    }),
  };
}
