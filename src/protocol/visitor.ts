/**
 * Visitor context (docs/visitor-context.md): what a page tells about its
 * visitor (business events, identity) and what a caller sends to a page
 * (notifications) or reads back (history), as zod schemas. The widget checks
 * a page's input against the same limits (visitor-rules.ts, free of zod)
 * before it sends it, and the server checks it again with these schemas: a
 * page is an attacker's tool too.
 */
import { z } from 'zod';
import { engagementSchema } from './engagement.js';
import { businessEventSchema, identitySchema } from './visit-context.js';
import {
  CONTEXT_DATA_MAX_BYTES,
  DATA_KEY_MAX,
  EVENT_NAME_PATTERN,
  PROTOTYPE_KEYS,
  USER_ID_MAX,
  jsonBytes,
} from './visitor-rules.js';

export {
  CONTEXT_DATA_MAX_BYTES,
  EVENT_NAME_PATTERN,
  PAGE_EVENT_RATE,
  USER_ID_MAX,
  eventNameProblem,
  flatDataProblem,
  userIdProblem,
} from './visitor-rules.js';

/** A notification's data: at most this many bytes as JSON (UTF-8). */
export const NOTIFICATION_DATA_MAX_BYTES = 8192;
/** `GET /visits` shows this many of a visit's business events, newest first. */
export const RECENT_BUSINESS_EVENTS = 10;
/** A visit keeps its latest business events for its history, at most this many. */
export const KEPT_BUSINESS_EVENTS = 100;
/** At most this many messages in one notification request. */
export const NOTIFICATIONS_MAX = 10;

/**
 * A flat object of strings, finite numbers and booleans, at most `maxBytes`
 * as JSON: business event data and identity traits.
 */
export const flatDataSchema = (maxBytes: number) =>
  z
    .record(
      z
        .string()
        .min(1)
        .max(DATA_KEY_MAX)
        .refine((key) => !PROTOTYPE_KEYS.has(key), 'must not be __proto__, constructor or prototype'),
      z.union([z.string(), z.number().refine(Number.isFinite, 'must be a finite number'), z.boolean()], {
        error: 'values must be strings, numbers or booleans (a flat object)',
      }),
    )
    .refine((data) => jsonBytes(data) <= maxBytes, `must be at most ${maxBytes} bytes as JSON`);

export const contextDataSchema = flatDataSchema(CONTEXT_DATA_MAX_BYTES);
/** Business event data or identity traits, as stored. */
export type ContextData = z.infer<typeof contextDataSchema>;

export const eventNameSchema = z
  .string()
  .regex(EVENT_NAME_PATTERN, 'must start with a letter, then up to 63 letters, digits or _ . : -');

export const userIdSchema = z.string().min(1).max(USER_ID_MAX);

// ── page → server (socket.io messages, docs/protocol.md) ────────────────────

/** `visit:track`: a business event of this page. */
export const trackSchema = z.strictObject({
  name: eventNameSchema,
  data: contextDataSchema.default({}),
});
export type TrackMessage = z.infer<typeof trackSchema>;

/** `visit:sign-in`: who the visitor is, with the site server's token when it signs identities. */
export const signInSchema = z.strictObject({
  userId: userIdSchema,
  traits: contextDataSchema.default({}),
  /** Hex HMAC-SHA256 of userId under BECKON_IDENTITY_SECRET, computed by the site's server. */
  token: z.string().max(128).optional(),
});
export type SignInMessage = z.infer<typeof signInSchema>;

/** `visit:user-info`: traits of the visitor, signed in or not. */
export const userInfoSchema = z.strictObject({ traits: contextDataSchema });
export type UserInfoMessage = z.infer<typeof userInfoSchema>;

/** `visit:sign-out` carries nothing. */
export const signOutSchema = z.strictObject({});

/** The server's answer to a page's track or identity message. */
export type ContextAck = { ok: true } | { ok: false; code: string; message: string };

// ── what the store keeps and callers read ───────────────────────────────────

/** A visit as history: live or ended, every page it had, its business events and attempts. */
export const visitHistorySchema = z.object({
  visitId: z.string(),
  globalVisitId: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  identity: identitySchema.nullable(),
  pages: z.array(
    z.object({
      pageId: z.string(),
      url: z.string(),
      title: z.string(),
      enteredAt: z.string(),
      leftAt: z.string().nullable(),
    }),
  ),
  /** Newest first, at most KEPT_BUSINESS_EVENTS. */
  events: z.array(businessEventSchema),
  /** As the status endpoint answers them, oldest first. */
  attempts: z.array(engagementSchema),
});
export type VisitHistory = z.infer<typeof visitHistorySchema>;

export const visitorVisitsSchema = z.object({
  /** Newest first. */
  visits: z.array(visitHistorySchema),
  /** Pass as `cursor` for the next page; null on the last. */
  next: z.string().nullable(),
});
export type VisitorVisits = z.infer<typeof visitorVisitsSchema>;

export const visitorVisitsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

/** What an erasure removed. */
export const erasureCountsSchema = z.object({
  visits: z.number().int(),
  pages: z.number().int(),
  events: z.number().int(),
  attempts: z.number().int(),
});
export type ErasureCounts = z.infer<typeof erasureCountsSchema>;

// ── notifications (caller → page) ───────────────────────────────────────────

const NOTIFICATION_DATA_DEPTH = 8;
const depthOf = (value: unknown): number =>
  value !== null && typeof value === 'object'
    ? 1 + Math.max(0, ...Object.values(value as Record<string, unknown>).map(depthOf))
    : 0;
const hasPrototypeKey = (value: unknown): boolean =>
  value !== null &&
  typeof value === 'object' &&
  Object.entries(value as Record<string, unknown>).some(
    ([key, inner]) => (!Array.isArray(value) && PROTOTYPE_KEYS.has(key)) || hasPrototypeKey(inner),
  );

/** A notification's data: any JSON object, at most 8 KB and 8 levels deep, no prototype keys. */
export const notificationDataSchema = z
  .record(z.string(), z.json())
  .refine((data) => !hasPrototypeKey(data), 'must not hold __proto__, constructor or prototype keys')
  .refine((data) => depthOf(data) <= NOTIFICATION_DATA_DEPTH, `must be at most ${NOTIFICATION_DATA_DEPTH} levels deep`)
  .refine(
    (data) => jsonBytes(data) <= NOTIFICATION_DATA_MAX_BYTES,
    `must be at most ${NOTIFICATION_DATA_MAX_BYTES} bytes as JSON`,
  );

export const notificationSchema = z.strictObject({
  /** Only this page of the visit; absent: every open page of it. */
  page: z.string().min(1).max(64).optional(),
  channel: eventNameSchema,
  data: notificationDataSchema.default({}),
});
/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** One message of the Notification API (written out: the widget's published types must not name zod). */
export interface Notification {
  page?: string | undefined;
  channel: string;
  data: Record<string, JsonValue>;
}
// The schema and the type above must say the same thing.
const _notificationMatches: z.infer<typeof notificationSchema> extends Notification ? true : never = true;
void _notificationMatches;

/** The body of the Notification API: 1–10 messages. */
export const notificationsSchema = z.array(notificationSchema).min(1).max(NOTIFICATIONS_MAX);

/** What a page receives, and the `detail` of the `beckon:notification` DOM event. */
export interface NotificationDetail {
  channel: string;
  data: Record<string, unknown>;
}

// ── GWE's page API (the `_gt` queue) ────────────────────────────────────────

/** What `['getIDs', cb]` passes to `cb`, spelt as GWE spells it. */
export interface GweIDs {
  visitID: string;
  pageID: string;
  globalVisitID: string;
}
