/**
 * How the Redis store writes values for its scripts and reads its records
 * back: hashes and stream entries as the interface's types, lex members
 * (keys.ts) taken apart.
 */
import {
  ENGAGEMENT_STATES,
  type BeckonEvent,
  type Engagement,
  type EngagementState,
  type EventType,
} from '../../protocol/index.js';
import { toBeckonEvent } from '../../core/events.js';
import { byAttention } from '../../core/placement.js';
import type { PageRecord, VisitRecord } from '../../core/store.js';

export type Fields = Record<string, string>;

export const iso = (ms: number) => new Date(ms).toISOString();
/** A nullable string for a script: '' for null, '=' + text otherwise. */
export const nullable = (text: string | null | undefined) => (text === null || text === undefined ? '' : `=${text}`);
export const int = (ms: number) => String(Math.round(ms));

/** The prefix of a lex index member (the same as `lexPrefix` in Lua, which counts bytes). */
export const lexPrefix = (text: string) => `${Buffer.byteLength(text)}:${text}:`;
export const lexRange = (prefix: string) => [`[${prefix}`, `(${prefix};`] as const;
/** The texts of a member made of lex prefixes (`<byte length>:<text>:` each), in order. */
export function splitLex(member: string): string[] {
  const bytes = Buffer.from(member);
  const out: string[] = [];
  for (let i = 0; i < bytes.length;) {
    const colon = bytes.indexOf(0x3a, i);
    const length = Number(bytes.toString('latin1', i, colon));
    out.push(bytes.toString('utf8', colon + 1, colon + 1 + length));
    i = colon + 1 + length + 1;
  }
  return out;
}

/** A flat [field, value, …] reply as an object. */
export function pairs(flat: unknown): Fields {
  const list = flat as string[];
  const out: Fields = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

export const isEmpty = (fields: Fields) => Object.keys(fields).length === 0;

/** An attempt's hash (keys.ts) as the Engagement it holds. */
export function toEngagement(h: Fields): Engagement {
  const transitions: Engagement['transitions'] = {};
  for (const state of ENGAGEMENT_STATES) {
    const at = h[`t:${state}`];
    if (at !== undefined) transitions[state] = at;
  }
  return {
    interactionId: h.id!,
    visitId: h.visitId ?? null,
    pageId: h.pageId ?? null,
    shownPageId: h.shownPageId ?? null,
    state: h.state as EngagementState,
    channels: JSON.parse(h.channels!),
    channel: h.channel ?? null,
    reason: h.reason ?? null,
    invitation: JSON.parse(h.invitation!),
    timeoutSeconds: Number(h.timeoutSeconds),
    expirationSeconds: Number(h.expirationSeconds),
    userData: JSON.parse(h.userData!),
    extras: JSON.parse(h.extras!),
    createdAt: iso(Number(h.createdAt)),
    expiresAt: iso(Number(h.expiresAt)),
    timeoutAt: h.timeoutAt === undefined ? null : iso(Number(h.timeoutAt)),
    transitions,
  };
}

/** An entry of the event log as the event it holds. */
export function toEvent(seq: number, f: Fields): BeckonEvent {
  return toBeckonEvent({
    id: f.id!,
    seq,
    type: f.type as EventType,
    at: Number(f.at),
    interactionId: f.interactionId ?? null,
    visitId: f.visitId ?? null,
    pageId: f.pageId ?? null,
    channel: f.channel ?? null,
    reason: f.reason ?? null,
    userData: f.userData === undefined ? {} : JSON.parse(f.userData),
    name: f.name ?? null,
    data: f.data === undefined ? {} : JSON.parse(f.data),
  });
}

export const toVisit = (visitId: string, h: Fields): VisitRecord => ({
  visitId,
  globalVisitId: h.globalVisitId!,
  startedAt: Number(h.startedAt),
  idleSince: h.idleSince === undefined ? null : Number(h.idleSince),
  endedAt: h.endedAt === undefined ? null : Number(h.endedAt),
});

export const toPage = (pageId: string, h: Fields): PageRecord => ({
  pageId,
  visitId: h.visitId!,
  url: h.url!,
  title: h.title!,
  visible: h.visible === '1',
  focused: h.focused === '1',
  locale: h.locale ?? null,
  connectedAt: Number(h.connectedAt),
  activeAt: Number(h.activeAt),
  closedAt: h.closedAt === undefined ? null : Number(h.closedAt),
  nodeId: h.nodeId ?? null,
  bootId: h.bootId ?? null,
});

/** Attention order (core/placement.ts), ties by page id as the createAttempt script breaks them. */
export const attentionOrder = (a: PageRecord, b: PageRecord) =>
  byAttention(a, b) || (a.pageId < b.pageId ? -1 : a.pageId > b.pageId ? 1 : 0);

/** The seq of a log entry id `<seq>-0`. */
export const seqOf = (streamId: string) => Number(streamId.slice(0, streamId.indexOf('-')));
