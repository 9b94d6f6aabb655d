/**
 * The engagement store: the single source of truth for visits, pages,
 * attempts and the event outbox. Every method that changes state is atomic
 * (one transaction, compare-and-set on the state), so the same call racing
 * on several tabs, sockets or nodes takes effect once and records one event.
 *
 * The interface is async so that a Redis implementation can sit behind it.
 */
import type { Engagement, EngagementState, IxnProfile, PageInfo, PageUpdate } from '../../protocol/index.js';

export interface VisitRecord {
  visitId: string;
  globalVisitId: string;
  startedAt: number;
  /** When its last open page closed; null while a page is open. */
  idleSince: number | null;
  endedAt: number | null;
}

export interface PageRecord {
  pageId: string;
  visitId: string;
  url: string;
  title: string;
  visible: boolean;
  focused: boolean;
  locale: string | null;
  connectedAt: number;
  /** Last time the page was visible and focused (or connected); picks the tab that shows an invitation. */
  activeAt: number;
  closedAt: number | null;
}

export interface LiveVisit extends VisitRecord {
  pages: PageRecord[];
  activeInteractionId: string | null;
}

/** What `createAttempt` found. */
export type CreateResult =
  | { kind: 'created'; engagement: Engagement }
  | { kind: 'exists'; engagement: Engagement }
  | { kind: 'visit-busy'; active: Engagement }
  | { kind: 'no-visit' }
  | { kind: 'opted-out' };

export interface TransitionRequest {
  interactionId: string;
  /** The states the attempt must be in for the change to happen (compare-and-set). */
  from: readonly EngagementState[];
  to: EngagementState;
  at: number;
  /** The change only happens for an attempt of this visit. */
  visitId?: string;
  channel?: string;
  reason?: string;
  /** Sets timeoutAt if it is not set yet (first show fixes the deadline). */
  timeoutAt?: number;
  pageId?: string;
}

/** A due deadline: an attempt to expire or time out, or a visit to end. */
export type DueDeadline =
  | { kind: 'expire'; interactionId: string }
  | { kind: 'timeout'; interactionId: string }
  | { kind: 'end-visit'; visitId: string };

export interface BeckonStore {
  // ── visits and pages ──
  /** Starts a visit (records `visit.started`). */
  startVisit(visit: { visitId: string; globalVisitId: string }, now: number): Promise<void>;
  getVisit(visitId: string): Promise<VisitRecord | null>;
  /** Opens (or re-opens after a reconnect) a page of a live visit (records `page.entered`). */
  openPage(page: { pageId: string; visitId: string; info: PageInfo }, now: number): Promise<void>;
  updatePage(pageId: string, update: PageUpdate, now: number): Promise<void>;
  /** Closes a page (records `page.left`); returns false if it was not open. */
  closePage(pageId: string, now: number): Promise<boolean>;
  getPage(pageId: string): Promise<PageRecord | null>;
  /** Open pages of a visit, the one the visitor is most likely looking at first. */
  openPages(visitId: string): Promise<PageRecord[]>;
  liveVisits(): Promise<LiveVisit[]>;
  /** Ends a visit (records `visit.ended`); returns false if it had already ended. */
  endVisit(visitId: string, now: number): Promise<boolean>;
  /** Records a browser's choice about invitations; opting out declines its attempts in progress (returned). */
  setOptOut(globalVisitId: string, optedOut: boolean, now: number): Promise<Engagement[]>;
  isOptedOut(globalVisitId: string): Promise<boolean>;
  /** After a restart of the only node no socket is left: close every page it held. */
  closeAllPages(now: number): Promise<number>;

  // ── engagement attempts ──
  /**
   * Creates a pending attempt unless one with this id exists, the visit is
   * not live, or (exclusive) the visit already has an attempt in progress.
   */
  createAttempt(profile: IxnProfile, options: { exclusive: boolean; now: number }): Promise<CreateResult>;
  /** Records a cancelled attempt for an id never engaged, so a late engage is refused. */
  createTombstone(
    cancel: { interactionId: string; visitId: string | null; reason: string | null },
    now: number,
  ): Promise<CreateResult>;
  getEngagement(interactionId: string): Promise<Engagement | null>;
  /** The attempt in progress (pending or delivered) for a visit, oldest first. */
  activeEngagements(visitId: string): Promise<Engagement[]>;
  /** Compare-and-set state change with its event; null when the attempt was not in a `from` state. */
  transition(request: TransitionRequest): Promise<Engagement | null>;
  /** Compare-and-set of the page an invitation is placed on; false when someone else moved it first. */
  placeOn(interactionId: string, expected: string | null, pageId: string | null): Promise<boolean>;

  // ── deadlines ──
  /** The earliest time anything is due, or null when nothing waits. */
  nextDeadline(visitIdleMs: number): Promise<number | null>;
  dueDeadlines(now: number, visitIdleMs: number): Promise<DueDeadline[]>;

  /** Whether the store answers (for /readyz and 503s). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
