/**
 * Lifecycle and visit events (docs/events.md), as written to the outbox and
 * sent on the SSE stream (`GET /backend/data/events`) and to the webhook. One
 * shape for every type: ids that do not apply are null, so a receiver can
 * read any event the same way.
 */
import { z } from 'zod';
import { ENGAGEMENT_STATES } from './names.js';

/** Every event type, engagement transitions first, then visit changes. */
export const EVENT_TYPES = [
  ...ENGAGEMENT_STATES.map((state) => `engagement.${state}` as const),
  'visit.started',
  'page.entered',
  'page.left',
  'visit.ended',
  'page.event',
  'visit.identified',
  'visit.signed_out',
  'visitor.erased',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Families a filter may name with a wildcard, e.g. `engagement.*`. */
const EVENT_FAMILIES = ['engagement', 'visit', 'page', 'visitor'] as const;

export const beckonEventSchema = z.object({
  /** Unique id (UUID); a webhook delivered twice carries the same id, so receivers dedupe by it. */
  id: z.string(),
  /** Position in the event log: strictly increasing, the SSE `id:` and the `Last-Event-ID` to resume from. */
  seq: z.number().int().positive(),
  type: z.enum(EVENT_TYPES),
  /** When the change happened (ISO 8601). */
  at: z.string(),
  interactionId: z.string().nullable(),
  visitId: z.string().nullable(),
  /** The page the event is about: the page shown on (engagement), entered or left. */
  pageId: z.string().nullable(),
  /** The channel the visitor accepted with (engagement.accepted). */
  channel: z.string().nullable(),
  /** Why it was cancelled or declined (cancelData.reason, `opted-out`), as recorded. */
  reason: z.string().nullable(),
  /** The attempt's userData (engagement events); `{}` for visit and page events. */
  userData: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** The business event's name (page.event); null for every other type. */
  name: z.string().nullable(),
  /**
   * page.event: the business event's data; visit.identified: `{userId,
   * verified, traits}`; visitor.erased: what was erased (counts); `{}` for
   * every other type.
   */
  data: z.record(z.string(), z.unknown()),
});
export type BeckonEvent = z.infer<typeof beckonEventSchema>;

/**
 * Reads a type filter: a comma-separated list of event types and families
 * (`engagement.*`, `visit.*`, `page.*`, `visitor.*`). Returns the exact types it selects,
 * or the first item that names nothing.
 */
export function parseEventTypes(list: string): { types: EventType[] } | { unknown: string } {
  const selected = new Set<EventType>();
  for (const item of list.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const family = item.endsWith('.*') ? item.slice(0, -2) : null;
    if (family !== null && (EVENT_FAMILIES as readonly string[]).includes(family)) {
      for (const type of EVENT_TYPES) if (type.startsWith(`${family}.`)) selected.add(type);
    } else if ((EVENT_TYPES as readonly string[]).includes(item)) {
      selected.add(item as EventType);
    } else {
      return { unknown: item.slice(0, 64) };
    }
  }
  if (selected.size === 0) return { unknown: '' };
  return { types: EVENT_TYPES.filter((type) => selected.has(type)) };
}
