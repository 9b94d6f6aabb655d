/**
 * Frequency caps per browser (globalVisitId, docs/lifecycle.md): at most
 * `perDay` invitations in any 24 hours, and a quiet time after the visitor
 * declined or closed one. The rule is here; the stores apply it in the same
 * atomic step as the create (the SQLite transaction calls `capState`, the
 * Redis createAttempt script mirrors it in Lua), so engages racing on several
 * backends cannot both pass. The contract suite holds both to the same answers.
 *
 * What the stores keep per browser (its "budget"):
 * - one entry per attempt that counts: from its creation (at its creation
 *   time, as a reservation) and, once it is first shown (delivered), at the
 *   time it was shown; an attempt cancelled or expired before it was ever
 *   shown leaves the budget (it never reached the visitor);
 * - the time of its last decline (the visitor's "No thanks" or close; not an
 *   opt-out, not a timeout).
 * Counting attempts still pending is what stops racing engages from
 * overshooting the cap: each one reserves its place before the next is checked.
 */

/** The caps in force; null turns one off. Both null: caps are off (the default). */
export interface CapSettings {
  /** At most this many invitations counted in any 24 hours (BECKON_CAP_PER_DAY). */
  perDay: number | null;
  /** Quiet time after a decline or close, ms (BECKON_CAP_AFTER_DECLINE_MINUTES). */
  afterDeclineMs: number | null;
}

export type CapName = 'per-day' | 'after-decline';

/** The window of the per-day cap. */
export const CAP_WINDOW_MS = 86_400_000;
/** The longest quiet time the configuration accepts (30 days); stores remember a decline this long. */
export const MAX_QUIET_MS = 30 * 86_400_000;
/** Budget entries older than this are pruned (twice the window: callers' clocks may differ a little). */
export const CAP_KEEP_MS = 2 * CAP_WINDOW_MS;

/** What a store read about one browser. */
export interface BrowserBudget {
  /**
   * Entries counted in the window ending at `now` (at > now − 24 h), newest
   * first; at least the newest `perDay` of them (a store may stop reading there).
   */
  counted: { at: number; shown: boolean }[];
  /** How many of all counted entries in the window were shown (not mere reservations). */
  shown: number;
  /** The browser's last decline or close, or null. */
  lastDeclinedAt: number | null;
}

/** One browser's cap state at `now` (epoch ms; ISO only at the edges). */
export interface CapState {
  shownLast24Hours: number;
  perDay: number | null;
  /** When the quiet time after the last decline ends, while it is in force; else null. */
  quietUntil: number | null;
  /** The cap that refuses an engage now (the later-lifting one when both do), or null. */
  capped: CapName | null;
  /** When that cap lifts; null when not capped. */
  retryAfter: number | null;
}

/** Whether any cap is configured (caps off: nothing is checked). */
export const capsOn = (caps: CapSettings | null | undefined): caps is CapSettings =>
  !!caps && (caps.perDay !== null || caps.afterDeclineMs !== null);

/**
 * The cap state of a browser. Per day: capped while `perDay` or more entries
 * count; it lifts when the `perDay`-th newest leaves the window (then fewer
 * than `perDay` are left). After a decline: capped until last decline + quiet
 * time. At the lift time itself an engage passes. When both refuse, the one
 * that lifts later is named (per-day on a tie).
 */
export function capState(budget: BrowserBudget, caps: CapSettings, now: number): CapState {
  let perDayUntil: number | null = null;
  if (caps.perDay !== null && budget.counted.length >= caps.perDay) {
    perDayUntil = budget.counted[caps.perDay - 1]!.at + CAP_WINDOW_MS;
  }
  let quietUntil: number | null = null;
  if (
    caps.afterDeclineMs !== null &&
    budget.lastDeclinedAt !== null &&
    budget.lastDeclinedAt + caps.afterDeclineMs > now
  ) {
    quietUntil = budget.lastDeclinedAt + caps.afterDeclineMs;
  }
  let capped: CapName | null = null;
  let retryAfter: number | null = null;
  if (perDayUntil !== null && (quietUntil === null || perDayUntil >= quietUntil)) {
    capped = 'per-day';
    retryAfter = perDayUntil;
  } else if (quietUntil !== null) {
    capped = 'after-decline';
    retryAfter = quietUntil;
  }
  return { shownLast24Hours: budget.shown, perDay: caps.perDay, quietUntil, capped, retryAfter };
}

/** The sentence of the VISITOR_CAPPED fault: names the cap and when it lifts. */
export function cappedMessage(cap: CapName, caps: CapSettings, retryAfter: number): string {
  const at = new Date(retryAfter).toISOString();
  return cap === 'per-day'
    ? `This visitor was already shown ${caps.perDay} invitation(s) in the last 24 hours (BECKON_CAP_PER_DAY); the cap lifts at ${at}.`
    : `This visitor declined or closed an invitation less than ${Math.round((caps.afterDeclineMs ?? 0) / 60_000)} minute(s) ago (BECKON_CAP_AFTER_DECLINE_MINUTES); the quiet time ends at ${at}.`;
}
