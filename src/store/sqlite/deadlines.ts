/**
 * The SQLite store's deadlines: a pending attempt expires, a shown one times
 * out, and a visit with no open page ends once it has been idle for
 * `visitIdleMs`. Only reads: firing a deadline is a transition (attempts.ts)
 * or the end of a visit (presence.ts), each a compare-and-set, so a deadline
 * settles once however many processes look.
 */
import type { AttemptStore, DueDeadline } from '../../core/store.js';
import type { SqliteContext } from './context.js';

export type DeadlineMethods = Pick<AttemptStore, 'nextDeadline' | 'dueDeadlines'>;

export function sqliteDeadlines({ db }: SqliteContext): DeadlineMethods {
  const stmt = {
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
  };

  return {
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
  };
}
