/**
 * The SQLite side of the frequency caps (core/caps.ts): each browser's budget
 * and last decline, in tables of their own (migration 5), kept only for
 * attempts created while a cap is configured. Every function here
 * runs inside the caller's transaction (createAttempt, transition), so the
 * check and the change it guards are one atomic step.
 */
import type Database from 'better-sqlite3';
import type { Engagement } from '../../protocol/index.js';
import {
  CAP_KEEP_MS,
  CAP_WINDOW_MS,
  MAX_QUIET_MS,
  capState,
  type BrowserBudget,
  type CapSettings,
} from '../../core/caps.js';
import type { CreateResult, TransitionRequest } from '../../core/store.js';

/** Old rows pruned per write: bounded, and still faster than they are made. */
const PRUNE_BATCH = 100;

export type SqliteCaps = ReturnType<typeof sqliteCaps>;

export function sqliteCaps(db: Database.Database) {
  const stmt = {
    reserve: db.prepare(
      `INSERT INTO cap_budget (interaction_id, global_visit_id, at, shown) VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING`,
    ),
    // First show only: a later 'delivered' (none today) must not move the entry again.
    shown: db.prepare(`UPDATE cap_budget SET at = ?, shown = 1 WHERE interaction_id = ? AND shown = 0`),
    release: db.prepare(`DELETE FROM cap_budget WHERE interaction_id = ? AND shown = 0`),
    budget: db.prepare<[string, number], { at: number; shown: number }>(
      // Newest first, ties as Redis' lex order has them reversed (shown 's' after reserved 'r', then by id).
      `SELECT at, shown FROM cap_budget WHERE global_visit_id = ? AND at > ? ORDER BY at DESC, shown DESC, interaction_id DESC`,
    ),
    pruneBudget: db.prepare(
      `DELETE FROM cap_budget WHERE interaction_id IN
         (SELECT interaction_id FROM cap_budget WHERE at < ? ORDER BY at LIMIT ${PRUNE_BATCH})`,
    ),
    declined: db.prepare(
      `INSERT INTO cap_declines (global_visit_id, declined_at) VALUES (?, ?)
       ON CONFLICT (global_visit_id) DO UPDATE SET declined_at = max(declined_at, excluded.declined_at)`,
    ),
    lastDecline: db.prepare<[string], { declined_at: number }>(
      `SELECT declined_at FROM cap_declines WHERE global_visit_id = ?`,
    ),
    pruneDeclines: db.prepare(
      `DELETE FROM cap_declines WHERE global_visit_id IN
         (SELECT global_visit_id FROM cap_declines WHERE declined_at < ? ORDER BY declined_at LIMIT ${PRUNE_BATCH})`,
    ),
    budgeted: db.prepare<[string], { global_visit_id: string }>(
      `SELECT global_visit_id FROM cap_budget WHERE interaction_id = ?`,
    ),
  };

  const budget = (globalVisitId: string, now: number): BrowserBudget => {
    const counted = stmt.budget
      .all(globalVisitId, now - CAP_WINDOW_MS)
      .map((row) => ({ at: row.at, shown: row.shown === 1 }));
    return {
      counted,
      shown: counted.filter((entry) => entry.shown).length,
      lastDeclinedAt: stmt.lastDecline.get(globalVisitId)?.declined_at ?? null,
    };
  };

  return {
    budget,

    /** The caps' refusal of a new attempt of this browser, or null when it may go ahead. */
    refusal(globalVisitId: string, caps: CapSettings, now: number): Extract<CreateResult, { kind: 'capped' }> | null {
      const state = capState(budget(globalVisitId, now), caps, now);
      return state.capped === null ? null : { kind: 'capped', cap: state.capped, retryAfter: state.retryAfter! };
    },

    /** A new attempt created under caps enters its browser's budget (reserved until it is shown). */
    reserve(interactionId: string, globalVisitId: string, now: number): void {
      stmt.pruneBudget.run(now - CAP_KEEP_MS);
      stmt.reserve.run(interactionId, globalVisitId, now);
    },

    /**
     * After a transition, in the same transaction, of an attempt created under
     * caps (any other finds no row and writes nothing): a first show moves its
     * entry to the show time; cancelled or expired before any show leaves the
     * budget; a decline or close (not an opt-out) starts the quiet time.
     */
    afterTransition(engagement: Engagement, request: TransitionRequest): void {
      if (request.to === 'delivered') {
        stmt.shown.run(request.at, engagement.interactionId);
      } else if (request.to === 'cancelled' || request.to === 'expired') {
        stmt.release.run(engagement.interactionId);
      } else if (request.to === 'declined' && request.reason !== 'opted-out') {
        const budgeted = stmt.budgeted.get(engagement.interactionId);
        if (!budgeted) return;
        stmt.pruneDeclines.run(request.at - MAX_QUIET_MS);
        stmt.declined.run(budgeted.global_visit_id, request.at);
      }
    },
  };
}
