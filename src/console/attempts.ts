/**
 * The invitations started from this console, as it follows them: what the
 * engage answered, then what each engagement event and each read of the
 * record says (docs/lifecycle.md for the states). Pure functions of an
 * attempt, so the rules are tested without a page.
 *
 * Events and reads of the record can cross on the wire, so a state only
 * moves forward: pending, then delivered, then an outcome.
 */
import type { BeckonEvent } from '../protocol/events.js';
import type { Engagement } from '../protocol/engagement.js';
import { ENGAGEMENT_STATES, isTerminal, type EngagementState } from '../protocol/names.js';
import { short } from './format.js';

/** What this console knows of an attempt's record: the server's answer, or what events said before it was read. */
export type AttemptRecord = Partial<Engagement> & Pick<Engagement, 'state'>;

/** What the event of one step said: the page it was shown on, the channel, the reason. */
export interface StepNote {
  at: string;
  pageId: string | null;
  channel: string | null;
  reason: string | null;
}

export interface Attempt {
  interactionId: string;
  visitId: string;
  /** The title typed for it; empty for the default title. */
  title: string;
  startedAt: string;
  state: EngagementState;
  record: AttemptRecord | null;
  steps?: Partial<Record<EngagementState, StepNote>>;
  /** The server no longer knows it (e.g. restarted on an empty store): why, as its FAULT said. */
  gone?: { status: 'FAULT'; code: string; message: string };
}

/** The fields of an event (docs/events.md) an attempt reads; the type is any the stream sends. */
export type EngagementEvent = Pick<BeckonEvent, 'at' | 'pageId' | 'channel' | 'reason'> & { type: string };

/** pending < delivered < any outcome. */
export const rank = (state: EngagementState): number => (isTerminal(state) ? 2 : state === 'delivered' ? 1 : 0);

export const isEngagementState = (value: unknown): value is EngagementState =>
  (ENGAGEMENT_STATES as readonly unknown[]).includes(value);

/** The state an event type reports (`engagement.accepted` → `accepted`), or null for visit and page events. */
export function stateOfEvent(type: string): EngagementState | null {
  const state = type.startsWith('engagement.') ? type.slice('engagement.'.length) : null;
  return isEngagementState(state) ? state : null;
}

/** Nothing more will happen to it: the attempt settled, or the server no longer knows it. */
export const isSettled = (attempt: Attempt): boolean => isTerminal(attempt.state) || Boolean(attempt.gone);

/** How announcements name an attempt. */
export const attemptName = (attempt: Attempt): string =>
  `Invitation “${attempt.title || 'default title'}” to visit ${short(attempt.visitId)}`;

/**
 * The attempt with a fresh record read from the server, or null when the
 * record changes nothing: not a record, the same as the one held, or older
 * than what an event already showed.
 */
export function withRecord(attempt: Attempt, record: unknown): Attempt | null {
  if (record === null || typeof record !== 'object') return null;
  const state = (record as { state?: unknown }).state;
  if (!isEngagementState(state)) return null;
  if (JSON.stringify(record) === JSON.stringify(attempt.record)) return null;
  if (rank(state) < rank(attempt.state)) return null;
  return { ...attempt, record: record as AttemptRecord, state };
}

/**
 * The attempt after an engagement event about it: the step's details noted
 * at once and, when the event moves it forward (or no record was read yet),
 * the record as the event tells it until the next read. Null for an event
 * that names no engagement state.
 */
export function withEvent(attempt: Attempt, event: EngagementEvent): Attempt | null {
  const state = stateOfEvent(event.type);
  if (state === null) return null;
  const noted: Attempt = {
    ...attempt,
    steps: {
      ...attempt.steps,
      [state]: {
        at: event.at,
        pageId: event.pageId ?? null,
        channel: event.channel ?? null,
        reason: event.reason ?? null,
      },
    },
  };
  if (rank(state) <= rank(attempt.state) && attempt.record) return noted;
  const r: Partial<AttemptRecord> = attempt.record ?? {};
  const told = withRecord(noted, {
    ...r,
    state,
    channel: event.channel ?? r.channel ?? null,
    reason: event.reason ?? r.reason ?? null,
    shownPageId: event.pageId ?? r.shownPageId ?? null,
    transitions: { ...r.transitions, [state]: event.at },
  });
  return told ?? noted;
}

/** One line of an attempt's timeline. */
export interface TimelineStep {
  state: EngagementState;
  at: string;
  /** Milliseconds since the attempt began (NaN when its start is unknown). */
  after: number;
  /** What the event of this step said, e.g. `channel chat`, `on page s5_UEXg…`. */
  notes: string[];
}

/** The transitions in the order they happened, each with its delay since the attempt began. */
export function timeline(attempt: Attempt): TimelineStep[] {
  const r: Partial<AttemptRecord> = attempt.record ?? {};
  const start = Date.parse(r.transitions?.pending ?? r.createdAt ?? attempt.startedAt);
  const order = (state: string) => (ENGAGEMENT_STATES as readonly string[]).indexOf(state);
  return Object.entries(r.transitions ?? {})
    .filter(
      (entry): entry is [EngagementState, string] =>
        isEngagementState(entry[0]) && typeof entry[1] === 'string' && !Number.isNaN(Date.parse(entry[1])),
    )
    .sort(([s1, t1], [s2, t2]) => Date.parse(t1) - Date.parse(t2) || order(s1) - order(s2))
    .map(([state, at]) => {
      const seen = attempt.steps?.[state];
      // An event that came before the attempt was listed is known only from the record.
      const shownOn = seen?.pageId ?? (state === 'delivered' ? r.shownPageId : null);
      const notes = [
        seen?.channel ? `channel ${seen.channel}` : null,
        seen?.reason ? `reason ${seen.reason}` : null,
        state === 'delivered' && shownOn ? `on page ${short(shownOn)}` : null,
      ].filter((note): note is string => note !== null);
      return { state, at, after: Date.parse(at) - start, notes };
    });
}

/** The attempts kept in this tab's storage, as far as they can be read. */
export function readStoredAttempts(text: string | null): Attempt[] {
  try {
    const list: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(list)
      ? list.filter((a): a is Attempt => a !== null && typeof a === 'object' && typeof a.interactionId === 'string')
      : [];
  } catch {
    return [];
  }
}
