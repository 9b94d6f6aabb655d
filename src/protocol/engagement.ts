/**
 * The engagement record: one attempt to invite one visit, as stored and as
 * answered by `GET /backend/data/gateway/engagements/{interactionId}`.
 */
import { z } from 'zod';
import { ENGAGEMENT_STATES } from './names.js';
import { invitationTextSchema, userDataSchema } from './gateway.js';
import { businessEventSchema, identitySchema } from './visit-context.js';

export const engagementStateSchema = z.enum(ENGAGEMENT_STATES);

const isoTime = z.string();

export const engagementSchema = z.object({
  interactionId: z.string(),
  /** null only for a cancelled tombstone whose noengage named no visit. */
  visitId: z.string().nullable(),
  /** The page the caller asked for, if any. */
  pageId: z.string().nullable(),
  /** The page the invitation was last offered to or shown on. */
  shownPageId: z.string().nullable(),
  state: engagementStateSchema,
  channels: z.array(z.string()),
  /** The channel the visitor accepted with. */
  channel: z.string().nullable(),
  /** Why it was cancelled (from cancelData) or how it settled. */
  reason: z.string().nullable(),
  invitation: invitationTextSchema,
  timeoutSeconds: z.number(),
  expirationSeconds: z.number(),
  userData: userDataSchema,
  /** Keys of the ixnProfile that Beckon does not know, kept as sent. */
  extras: z.record(z.string(), z.unknown()),
  createdAt: isoTime,
  /** When a still-pending attempt expires. */
  expiresAt: isoTime,
  /** When a shown invitation times out; fixed at first show. */
  timeoutAt: isoTime.nullable(),
  /** When each state was entered. */
  transitions: z.partialRecord(engagementStateSchema, isoTime),
});
export type Engagement = z.infer<typeof engagementSchema>;

/** A page of a live visit, as listed by `GET /backend/data/visits`. */
export const pageSchema = z.object({
  pageId: z.string(),
  url: z.string(),
  title: z.string(),
  visible: z.boolean(),
  focused: z.boolean(),
  locale: z.string().nullable(),
  connectedSince: isoTime,
});
export type Page = z.infer<typeof pageSchema>;

/**
 * A browser's frequency-cap state (docs/lifecycle.md), beside each visit in `GET
 * /visits`; null there when no cap is configured.
 */
export const visitCapsSchema = z.object({
  /** Invitations shown to this browser (globalVisitId) in the last 24 hours. */
  shownLast24Hours: z.number().int(),
  /** BECKON_CAP_PER_DAY, or null when that cap is off. */
  perDay: z.number().int().nullable(),
  /** When the quiet time after the browser's last decline or close ends, while it is in force. */
  quietUntil: isoTime.nullable(),
  /** The cap that refuses an engage now (the later-lifting one when both do), or null. */
  capped: z.enum(['per-day', 'after-decline']).nullable(),
  /** When that cap lifts, or null. */
  retryAfter: isoTime.nullable(),
});
export type VisitCaps = z.infer<typeof visitCapsSchema>;

export const visitSchema = z.object({
  visitId: z.string(),
  globalVisitId: z.string(),
  startedAt: isoTime,
  pages: z.array(pageSchema),
  /** The attempt in progress for this visit, if any. */
  activeInteractionId: z.string().nullable(),
  /** The browser's frequency-cap state; null when no cap is configured. */
  caps: visitCapsSchema.nullable(),
  /** Who the visit says its visitor is (docs/visitor-context.md); null until a sign-in or user info. */
  identity: identitySchema.nullable(),
  /** Its latest business events, newest first (at most RECENT_BUSINESS_EVENTS). */
  events: z.array(businessEventSchema),
});
export type Visit = z.infer<typeof visitSchema>;

export const visitListSchema = z.object({ visits: z.array(visitSchema) });
