/**
 * Every event Beckon records, built from the change it reports (docs/events.md).
 * These are the only places that decide an event's fields; each store
 * writes what they return in the same atomic step as the change itself.
 * (The Redis store's scripts build the same fields in Lua, since a script
 * cannot call back into Node; the store contract suite checks that both
 * implementations record exactly what these functions say.)
 */
import type {
  BeckonEvent,
  ContextData,
  Engagement,
  EngagementState,
  ErasureCounts,
  EventType,
  UserData,
} from '../protocol/index.js';

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
  /** The business event's name (page.event), else null. */
  name: string | null;
  /** page.event: its data; visit.identified: the identity; visitor.erased: the counts; else `{}`. */
  data: Record<string, unknown>;
}

/** An event as the log keeps it: the draft plus its unique id and its position. */
export interface LoggedEvent extends EventDraft {
  id: string;
  seq: number;
}

/** The fields of an event that is about no attempt. */
const NO_IDS = {
  interactionId: null,
  visitId: null,
  pageId: null,
  channel: null,
  reason: null,
  userData: {},
  name: null,
  data: {},
} as const satisfies Omit<EventDraft, 'type' | 'at'>;

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
    name: null,
    data: {},
  };
}

/** `visit.started` or `visit.ended`. */
export function visitEvent(type: 'visit.started' | 'visit.ended', visitId: string, at: number): EventDraft {
  return { ...NO_IDS, type, at, visitId };
}

/** `page.entered` or `page.left`. */
export function pageEvent(type: 'page.entered' | 'page.left', visitId: string, pageId: string, at: number): EventDraft {
  return { ...NO_IDS, type, at, visitId, pageId };
}

/** `page.event`: a business event a page tracked. */
export function businessEventOf(
  event: { visitId: string; pageId: string; name: string; data: ContextData },
  at: number,
): EventDraft {
  return {
    ...NO_IDS,
    type: 'page.event',
    at,
    visitId: event.visitId,
    pageId: event.pageId,
    name: event.name,
    data: event.data,
  };
}

/** `visit.identified` (sign-in or user info) with the identity as it is after the change, or `visit.signed_out`. */
export function identityEventOf(
  visitId: string,
  pageId: string | null,
  identity: { userId: string | null; verified: boolean; traits: ContextData } | null,
  at: number,
): EventDraft {
  if (identity === null) return { ...NO_IDS, type: 'visit.signed_out', at, visitId, pageId };
  const data = { userId: identity.userId, verified: identity.verified, traits: identity.traits };
  return { ...NO_IDS, type: 'visit.identified', at, visitId, pageId, data };
}

/** `visitor.erased`: names no id (the log must not keep the browser's), only what went. */
export function erasureEventOf(counts: ErasureCounts, at: number): EventDraft {
  return { ...NO_IDS, type: 'visitor.erased', at, data: { ...counts } };
}

/**
 * The event as callers receive it (SSE, webhooks): ISO time at the edge.
 * Without a `seq`, the same fields but its position (`seq` is undefined, so
 * JSON leaves it out): what the SQLite store keeps as an event's body.
 */
export function toBeckonEvent(event: LoggedEvent): BeckonEvent;
export function toBeckonEvent(event: EventDraft & { id: string }): Omit<BeckonEvent, 'seq'>;
export function toBeckonEvent(
  event: EventDraft & { id: string; seq?: number },
): Omit<BeckonEvent, 'seq'> & { seq?: number } {
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
    name: event.name,
    data: event.data,
  };
}
