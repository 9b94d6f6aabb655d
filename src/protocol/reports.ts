/**
 * The report and export answers (docs/api.md): `GET /reports/engagements`
 * and `GET /engagements`. Built by
 * core/reports.ts and backend/routes/reports.ts; here for the OpenAPI document.
 */
import { z } from 'zod';
import { engagementSchema } from './engagement.js';

const counts = z.record(z.string(), z.number().int());

export const funnelFiguresSchema = z.object({
  created: z.number().int(),
  delivered: z.number().int(),
  accepted: z.number().int(),
  /** Accepted per channel; `(other)` past 50 channels in one hour. */
  acceptedByChannel: counts,
  declined: z.number().int(),
  timedOut: z.number().int(),
  cancelled: z.number().int(),
  /** Cancelled per noengage reason; `(none)` without one, `(other)` past 50 reasons in one hour. */
  cancelledByReason: counts,
  expired: z.number().int(),
  /** accepted ÷ delivered; null when nothing was delivered. */
  acceptanceRate: z.number().nullable(),
  /** Delivered → accepted or declined, within 5 %; null when nothing was answered. */
  timeToAnswerMs: z.object({ p50: z.number().nullable(), p90: z.number().nullable() }),
  /** Engages refused in the bucket, per FAULT code: UNKNOWN_VISIT, VISITOR_OPTED_OUT, ENGAGEMENT_IN_PROGRESS, VISITOR_CAPPED, NO_CAPACITY. */
  refused: counts,
  /** Attempts created with fewer channels than asked (the others were closed: hours, capacity, pacing). */
  narrowed: z.number().int(),
});

export const engagementReportSchema = z.object({
  /** The range, widened to whole buckets: [from, to). */
  from: z.string(),
  to: z.string(),
  bucket: z.enum(['hour', 'day']),
  timeZone: z.literal('UTC'),
  totals: funnelFiguresSchema,
  /** Every bucket of the range, oldest first, empty ones with zeros. */
  buckets: z.array(funnelFiguresSchema.extend({ start: z.string() })),
  /** The 10 page paths with most invitations shown in the range. */
  topPages: z.array(
    z.object({
      path: z.string(),
      shown: z.number().int(),
      accepted: z.number().int(),
      acceptanceRate: z.number().nullable(),
    }),
  ),
});
export type EngagementReportBody = z.infer<typeof engagementReportSchema>;

export const engagementExportSchema = z.object({
  engagements: z.array(engagementSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  next: z.string().nullable(),
});
export type EngagementExport = z.infer<typeof engagementExportSchema>;
