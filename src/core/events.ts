/**
 * Every event Beckon records, built from the change it reports (docs/events.md).
 * These are the only places that decide an event's fields; each store
 * writes what they return in the same atomic step as the change itself.
 * (The Redis store's scripts build the same fields in Lua, since a script
 * cannot call back into Node; the store contract suite checks that both
 * implementations record exactly what these functions say.)
 */
import type { BeckonEvent, Engagement, EngagementState, EventType, UserData } from '../protocol/index.js';

/** An event as the core describes it, before the log gives it an id and a position. */
export interface EventDraft {
  type: EventType;
  /** When the change happened, epoch ms. */
  at: number;
  interactionId: string | null;
  visitId: string | null;
  pageId: string | null;
  channel: string | null;
  reason: string | null;
  userData: UserData;
}

/** An event as the log keeps it: the draft plus its unique id and its position. */
export interface LoggedEvent extends EventDraft {
  id: string;
  seq: number;
}

/** The event type an attempt entering `state` records. */
export const attemptEventType = (state: EngagementState): EventType => `engagement.${state}`;

/**
 * The event of an attempt that has just entered its current state. The page
 * is where it is shown (or was last offered), else the page the caller named.
 */
export function attemptEvent(attempt: Engagement, at: number): EventDraft {
  return {
    type: attemptEventType(attempt.state),
    at,
    interactionId: attempt.interactionId,
    visitId: attempt.visitId,
    pageId: attempt.shownPageId ?? attempt.pageId,
    channel: attempt.channel,
    reason: attempt.reason,
    userData: attempt.userData,
  };
}

/** `visit.started` or `visit.ended`. */
export function visitEvent(type: 'visit.started' | 'visit.ended', visitId: string, at: number): EventDraft {
  return { type, at, interactionId: null, visitId, pageId: null, channel: null, reason: null, userData: {} };
}

/** `page.entered` or `page.left`. */
export function pageEvent(type: 'page.entered' | 'page.left', visitId: string, pageId: string, at: number): EventDraft {
  return { type, at, interactionId: null, visitId, pageId, channel: null, reason: null, userData: {} };
}

/** The event as callers receive it (SSE, webhooks): ISO time at the edge. */
export function toBeckonEvent(event: LoggedEvent): BeckonEvent {
  return {
    id: event.id,
    seq: event.seq,
    type: event.type,
    at: new Date(event.at).toISOString(),
    interactionId: event.interactionId,
    visitId: event.visitId,
    pageId: event.pageId,
    channel: event.channel,
    reason: event.reason,
    userData: event.userData,
  };
}
