/**
 * The SQLite store's webhook outbox: events move from the log into
 * `webhook_deliveries` behind a cursor, each in the lane of its visit; a
 * claim takes only the oldest waiting delivery of each lane (so a visit's
 * events go out in order) and leases it by moving its due time, so a claim
 * by a sender that died runs out on its own.
 */
import type { EventType } from '../../protocol/index.js';
import type { WebhookDelivery, WebhookOutbox } from '../../core/store.js';
import type { SqliteContext } from './context.js';
import { toEvent, type EventRow } from './rows.js';

export function sqliteWebhooks(
  { db, write }: SqliteContext,
  log: {
    /** The newest event's position, 0 when there is none. */
    lastSeq(): number;
  },
): WebhookOutbox {
  const stmt = {
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

  const queueWebhookEvents = db.transaction(
    (types: readonly EventType[] | null, now: number, maxAgeMs: number, limit: number): number => {
      const cursor = stmt.webhookCursor.get();
      if (!cursor) {
        // Webhooks were just turned on: start with what happens from now on, not the whole history.
        stmt.setWebhookCursor.run(log.lastSeq());
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

  const claimWebhookDeliveries = db.transaction((now: number, leaseUntil: number, limit: number): WebhookDelivery[] =>
    stmt.dueWebhooks.all({ now, limit }).map((row) => {
      stmt.leaseWebhook.run(leaseUntil, row.seq);
      return { event: toEvent(row), attempts: row.attempts };
    }),
  );

  return {
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
  };
}
