/**
 * The SQLite store's rows as the tables hold them (migrations.ts), and how
 * each reads as the core's record: times are epoch ms in the tables and ISO
 * strings on an engagement, booleans are 0 or 1, and nested values are JSON.
 * Shared by every part of the store.
 */
import type { BeckonEvent, Engagement, EngagementState, EventType } from '../../protocol/index.js';
import { toBeckonEvent } from '../../core/events.js';
import type { HeldPage, NodeRef, PageRecord, VisitRecord } from '../../core/store.js';

/** The states of an attempt in progress, as an SQL list. */
export const ACTIVE_STATES = `('pending','delivered')`;

export interface EngagementRow {
  interaction_id: string;
  visit_id: string | null;
  page_id: string | null;
  shown_page_id: string | null;
  state: EngagementState;
  channels: string;
  channel: string | null;
  reason: string | null;
  invitation: string;
  timeout_seconds: number;
  expiration_seconds: number;
  user_data: string;
  extras: string;
  created_at: number;
  expires_at: number;
  timeout_at: number | null;
  transitions: string;
}

export interface VisitRow {
  visit_id: string;
  global_visit_id: string;
  started_at: number;
  idle_since: number | null;
  ended_at: number | null;
}

export interface PageRow {
  page_id: string;
  visit_id: string;
  url: string;
  title: string;
  visible: number;
  focused: number;
  locale: string | null;
  connected_at: number;
  active_at: number;
  closed_at: number | null;
  node_id: string | null;
  boot_id: string | null;
}

export interface EventRow {
  seq: number;
  id: string;
  type: EventType;
  at: number;
  visit_id: string | null;
  interaction_id: string | null;
  page_id: string | null;
  body: string;
}

/** An open page with the boot that holds it. */
export interface HeldPageRow {
  page_id: string;
  visit_id: string;
  node_id: string;
  boot_id: string;
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** The event as sent; columns win over the body, and fields missing from older bodies read as null. */
export function toEvent(row: EventRow): BeckonEvent {
  const body = JSON.parse(row.body) as Partial<BeckonEvent>;
  return toBeckonEvent({
    id: row.id,
    seq: row.seq,
    type: row.type,
    at: row.at,
    interactionId: row.interaction_id,
    visitId: row.visit_id,
    pageId: row.page_id,
    channel: body.channel ?? null,
    reason: body.reason ?? null,
    userData: body.userData ?? {},
    name: body.name ?? null,
    data: body.data ?? {},
  });
}

export function toEngagement(row: EngagementRow): Engagement {
  return {
    interactionId: row.interaction_id,
    visitId: row.visit_id,
    pageId: row.page_id,
    shownPageId: row.shown_page_id,
    state: row.state,
    channels: JSON.parse(row.channels),
    channel: row.channel,
    reason: row.reason,
    invitation: JSON.parse(row.invitation),
    timeoutSeconds: row.timeout_seconds,
    expirationSeconds: row.expiration_seconds,
    userData: JSON.parse(row.user_data),
    extras: JSON.parse(row.extras),
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    timeoutAt: row.timeout_at === null ? null : iso(row.timeout_at),
    transitions: JSON.parse(row.transitions),
  };
}

export const toVisit = (row: VisitRow): VisitRecord => ({
  visitId: row.visit_id,
  globalVisitId: row.global_visit_id,
  startedAt: row.started_at,
  idleSince: row.idle_since,
  endedAt: row.ended_at,
});

export const toPage = (row: PageRow): PageRecord => ({
  pageId: row.page_id,
  visitId: row.visit_id,
  url: row.url,
  title: row.title,
  visible: row.visible === 1,
  focused: row.focused === 1,
  locale: row.locale,
  connectedAt: row.connected_at,
  activeAt: row.active_at,
  closedAt: row.closed_at,
  nodeId: row.node_id,
  bootId: row.boot_id,
});

export const toHeld = (row: HeldPageRow): HeldPage => ({
  pageId: row.page_id,
  visitId: row.visit_id,
  node: { nodeId: row.node_id, bootId: row.boot_id },
});

export const toNode = (row: { node_id: string; boot_id: string }): NodeRef => ({
  nodeId: row.node_id,
  bootId: row.boot_id,
});
